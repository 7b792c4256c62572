/*
 * RedHare native kernel for AVX2 CPUs: row-major F16 weights (F16Matrix, with 8-float vectors: blocks of 16 columns)
 * times one or several tokens, as ../f16_tokens.c does at 512 bits and with the bits of the Java kernels it stands for
 * (RowWidenedMatrix.dot1 / dot4 / rows4Tokens at 8 lanes): a decode step of one or several users, a drafted run being
 * checked, a short prompt. F32 rows (../f16_tokens.c's other type) stay in Java here: both types inlined for every
 * pass would double the code past what one Java string constant carries.
 *
 * VCVTPH2PS (F16C) widens 8 halves at once to their exact values (subnormal halves as normal floats, as
 * Float.float16ToFloat gives) in registers, where the Java path widened each row into memory first; the tokens go in
 * groups of up to ten and a group takes four rows in token_passes.h's passes (four rows a pass for up to three tokens,
 * two for four or five, one for more). Per (row, token) one accumulator takes, block by block, the FMA of the block's
 * first 8 floats and then of its next 8, and its eight lanes are added in VectorMath.sum's tree for 8 lanes (lanes8):
 * no tail (whole blocks only), so the same bits.
 *
 * Arguments (those of ../f16_tokens.c, F16 only): args = {rows (address of the first row), quads (groups of four rows),
 * cols (a multiple of 16), ahead (bytes to prefetch ahead in each row into L2; its sign is ignored, as the Java side
 * passes NativeKernels.halvesAhead's L2 distance negative), half (1), n (tokens, at least 1), stride (the
 * outputs' stride), spread (1: quad k is rows 4 k .. 4 k + 3; quads: rows k + j quads, j = 0..3, four sequential
 * streams)}; x: token t's activations at x[t * cols ..]; y: token t's output for the run's row i at y[t * stride + i];
 * scratch: room for n * cols + 15 floats (the activations copied to a 64-byte boundary, so that no 32-byte load of
 * them crosses a cache line).
 *
 * Built by scripts/native/build-kernels.sh (AVX2, FMA and F16C only) into the bytes org.redhare.core.matrix.Avx2Code
 * carries.
 */
#include "token_passes.h"

/* Columns c + D .. c + D + 7 of row J of the quad as floats. */
#define ROW8(J, D) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p + (J) * pitch + 2 * (c + (D)))))

/* Row I0 + I of the quad, the block of 16 columns at c + D: its two halves widened, each fed to every token of the
 * group. */
#define PASS_ROW(I, D) \
        if (R > (I)) { \
            __m256 w = ROW8(I0 + (I), D); \
            FEED_TOKENS(I, w, (D)) \
            w = ROW8(I0 + (I), (D) + 8); \
            FEED_TOKENS(I, w, (D) + 8) }

/* Token T's output of row I0 + I. */
#define OUT(I, T) if (R > (I) && N > (T)) y[(T) * stride + (I0 + (I)) * spread] = lanes8(a##I##T);

/* Rows I0 .. I0 + R - 1 of the quad (row j at p + j pitch), columns c0 .. c1 - 1, times the N tokens whose activations
 * are at x (token t's at x + t * cols): the sums start at zero where c0 is 0 and otherwise from acc, go on to acc where
 * c1 is short of the row's end, and otherwise become the outputs at y (token t's row j at y[t * stride + j spread]).
 * Inlined once per (R, N), constants, so that the R N accumulators stay in registers. */
static inline __attribute__((always_inline)) void f16_pass(const long R, const long N, const long I0,
        const unsigned char *const p, const long pitch, const long c0, const long c1, const long cols, const long ahead,
        const long spread, const long stride, const float *const x, float *const y, float *const acc) {
    PASS_BEGIN
    PASS_COLUMNS16
    PASS_END
}

/* Quad k's four rows for the N tokens from T0, CHUNK_COLS columns at a time. */
#define F16_PASS(R, I0) f16_pass(R, N_, I0, p_, pitch, c0_, c1_, cols, ahead, spread, stride, xt_, yt_, acc);
#define F16_QUAD(N, T0) { \
        const long N_ = (N); \
        const float *const xt_ = x + (T0) * cols; \
        float *const yt_ = y + (T0) * stride + k * step; \
        const unsigned char *const p_ = rows + 2 * cols * k * step; \
        for (long c0_ = 0; c0_ < cols; c0_ += CHUNK_COLS) { \
            const long c1_ = c0_ + CHUNK_COLS < cols ? c0_ + CHUNK_COLS : cols; \
            TILE_PASSES(N, F16_PASS) \
        } }

void f16_tokens(const long *args, const float *xin, float *y, float *scratch) {
    const unsigned char *const rows = (const unsigned char *) args[0];
    const long quads = args[1], cols = args[2], ahead = args[3] < 0 ? -args[3] : args[3], n = args[5];
    const long stride = args[6], spread = args[7], step = spread == 1 ? 4 : 1;
    const long pitch = 2 * cols * spread;
    QUADS16(F16_QUAD)
}
