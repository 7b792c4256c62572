/*
 * RedHare native kernel for AVX2 CPUs: BF16 rows (Bf16Matrix with 8-float vectors: blocks of 16 columns) times several
 * tokens, as ../bf16_tokens.c does at 512 bits and with the bits of the Java kernels it stands for (Bf16Matrix's
 * register and widened-tile paths, and so of one token alone): a decode step of several users, a drafted run being
 * checked, or a prompt in blocks of tokens.
 *
 * A row's block of 16 columns is one 32-byte load, widened in registers into its 8 even columns (the low halves shifted
 * up) and its 8 odd ones (the high halves masked); the tokens go in groups of up to ten and a group takes four rows in
 * token_passes.h's passes (four rows a pass for up to three tokens, two for four or five, one for more), each block
 * widened once a pass and fed to every token of the group. Per (row, token) one accumulator takes, block by block in
 * column order, the FMA of the even columns and then of the odd ones, and its eight lanes are added in VectorMath.sum's
 * tree for 8 lanes (lanes8): Bf16Matrix's arithmetic for rows of whole blocks, so the same bits whatever the batch.
 *
 * Layout: a matrix of cols <= panel columns is row-major; a wider one is stored in column panels of `panel` columns
 * ([panel][rows][width], the last narrower), so column c of row r is at byte 2 (rows p0 + r width + c - p0), p0 the
 * first column of c's panel and width its column count.
 *
 * Arguments: args = {data (address of the matrix), rows (of the whole matrix), first (the run's first row), quads
 * (groups of four rows: rows first + 4 k .. first + 4 k + 3, or with spread > 1 rows first + k + j spread, j = 0..3,
 * spread = quads), cols (a multiple of 16), panel (a multiple of 16), n (tokens, at least 1), stride (the outputs'
 * stride), ahead (bytes to prefetch ahead in each row: into L1 where positive, into L2 where negative, none at 0),
 * spread (1, or quads: four sequential streams)}; x: token t's activations at x[t * cols ..], deinterleaved
 * (Kernels.deinterleave at 8 lanes: per 16-column block its 8 even columns, then its 8 odd ones); y: token t's output
 * for the run's row i at y[t * stride + i]; scratch: room for n * cols + 15 floats (the activations copied to a 64-byte
 * boundary, so that no 32-byte load of them crosses a cache line).
 *
 * Built by scripts/native/build-kernels.sh (AVX2, FMA and F16C only) into the bytes org.redhare.core.matrix.Avx2Code
 * carries.
 */
#include "token_passes.h"

/* Row I0 + I of the quad, the block of 16 columns at c + D: widened, each half fed to every token of the group. */
#define PASS_ROW(I, D) \
        if (R > (I)) { \
            const __m256i v = _mm256_loadu_si256((const __m256i *) (p + (I0 + (I)) * pitch + 2 * (c + (D)))); \
            __m256 w = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)); /* even columns */ \
            FEED_TOKENS(I, w, (D)) \
            w = _mm256_castsi256_ps(_mm256_and_si256(v, high)); /* odd columns */ \
            FEED_TOKENS(I, w, (D) + 8) }

/* Token T's output of row I0 + I. */
#define OUT(I, T) if (R > (I) && N > (T)) y[(T) * stride + (I0 + (I)) * spread] = lanes8(a##I##T);

/* Rows I0 .. I0 + R - 1 of the quad (row j at p + j pitch + 2 c for column c of the panel), columns c0 .. c1 - 1 (one
 * panel's), times the N tokens whose activations are at x (token t's at x + t * cols): the sums start at zero where c0
 * is 0 and otherwise from acc, go on to acc where c1 is short of the row's end, and otherwise become the outputs at y
 * (token t's row j at y[t * stride + j spread]). Inlined once per (R, N), constants, so that the R N accumulators stay
 * in registers; through memory between column chunks their floats do not change. */
static inline __attribute__((always_inline)) void bf16_pass(const long R, const long N, const long I0, const unsigned char *const p,
        const long pitch, const long c0, const long c1, const long cols, const long ahead, const long spread, const long stride,
        const float *const x, float *const y, const __m256i high, float *const acc) {
    PASS_BEGIN
    PASS_COLUMNS16
    PASS_END
}

/* The quad's four rows (the first r) for the N tokens from T0, a panel's columns at most CHUNK_COLS at a time. */
#define BF16_PASS(R, I0) bf16_pass(R, N_, I0, p_, pitch_, c0_, c1_, cols, ahead, spread, stride, xt_, yt_, high, acc);
#define BF16_QUAD(N, T0) { \
        const long N_ = (N), r = first + k * step; \
        const float *const xt_ = x + (T0) * cols; \
        float *const yt_ = y + (T0) * stride + k * step; \
        for (long c0_ = 0; c0_ < cols; ) { \
            const long p0_ = c0_ / panel * panel, width_ = cols - p0_ < panel ? cols - p0_ : panel; \
            const long c1_ = c0_ + CHUNK_COLS < p0_ + width_ ? c0_ + CHUNK_COLS : p0_ + width_; \
            const long pitch_ = 2 * width_ * spread; \
            const unsigned char *const p_ = data + 2 * (rows * p0_ + r * width_ - p0_); \
            TILE_PASSES(N, BF16_PASS) \
            c0_ = c1_; \
        } }

void bf16_tokens(const long *args, const float *xin, float *y, float *scratch) {
    const unsigned char *const data = (const unsigned char *) args[0];
    const long rows = args[1], first = args[2], quads = args[3], cols = args[4], panel = args[5], n = args[6];
    const long stride = args[7], ahead = args[8] < 0 ? -args[8] : args[8], spread = args[9], step = spread == 1 ? 4 : 1;
    const __m256i high = splat32((int) 0xFFFF0000);
    QUADS16(BF16_QUAD)
}
