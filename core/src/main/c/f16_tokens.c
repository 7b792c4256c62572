/*
 * RedHare native kernel: row-major F16 or F32 weights (RowWidenedMatrix: F16Matrix, F32Matrix) times one or several
 * tokens, rows of whole 32-column blocks, four rows at a time: a decode step of one or several users, a short prompt.
 * The Java path widened each row to floats in a loop (Float.float16ToFloat) and then ran its FMAs; here VCVTPH2PS
 * widens 16 halves at once, each to its exact value (subnormal halves as normal floats, as Float.float16ToFloat gives),
 * in registers, and the four rows' codes feed every token of a group of up to five (sizes balanced) before the next
 * block. Per (row, token) one accumulator takes, block by block, the FMA of the block's first 16 floats and then of its
 * next 16, and its lanes are added in VectorMath.sum's tree (lanes.h): RowWidenedMatrix.dot1 / dot4 / rows4Tokens's
 * arithmetic (no tail: whole blocks only), so the same bits.
 *
 * Arguments: args = {rows (address of the first row), quads (groups of four rows), cols (a multiple of 32), ahead
 * (bytes to prefetch ahead in each row, into L2 when negative, as rows4.h), half (1: F16, 0: F32), n (tokens, at
 * least 1), stride (the outputs' stride), spread (1: quad k is rows 4 k .. 4 k + 3; quads: rows k + j quads, j =
 * 0..3, four sequential streams)}; x: token t's activations at x[t * cols ..]; y: token t's output for the run's row
 * i at y[t * stride + i]; scratch: room for n * cols + 15 floats (the activations copied to a 64-byte boundary: the
 * FMAs load them, and a load across two cache lines costs two).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "tokens.h"

/* Columns c .. c + 15 (M = 0) or c + 16 .. c + 31 (M = 1) of row J as floats. */
#define ROW16(J, M) (half \
        ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p + (J) * pitch + 2 * (c + 16 * (M))))) \
        : _mm512_loadu_ps((const float *) (p + (J) * pitch + 4 * (c + 16 * (M)))))

#define TOKENS_ROW(J, A0, A1, A2, A3, A4) { \
        const __m512 w0 = ROW16(J, 0), w1 = ROW16(J, 1); \
        TOKENS_OF_ROW(TOKEN_FMAS2, A0, A1, A2, A3, A4) }

#define PREFETCH_ROW(J) \
        if (ahead > 0) _mm_prefetch((const char *) (p + (J) * pitch + c * size + ahead), _MM_HINT_T0); \
        else if (ahead < 0) _mm_prefetch((const char *) (p + (J) * pitch + c * size - ahead), _MM_HINT_T1);

/* Four rows from p, pitch apart, times N tokens (activations at x, the first row's outputs at y + t * stride, the next
 * ones spread floats apart), inlined once per N and type so that the accumulators stay in registers. */
static inline __attribute__((always_inline)) void rows4_tokens(const long N, const long half, const unsigned char *const p,
        const long pitch, const long spread, const long cols, const long ahead, const long stride, const float *const x,
        float *const y) {
    const long size = half ? 2 : 4;
    TOKENS_ACCUMULATORS
    for (long c = 0; c < cols; c += 32) {
        if (half || (c & 32) == 0) { /* one prefetch per row and cache line */
            PREFETCH_ROWS4
        }
        TOKENS_ROWS4
    }
    TOKENS_OUTPUTS(TOKENS_OUT_SPREAD)
}

/* Four rows from p for the N tokens from T0 (half_ a constant in each branch below). */
#define F16_TILE(N, T0) rows4_tokens(N, half_, p, spread * pitch, spread, cols, ahead, stride, x + (T0) * cols, \
        y + (T0) * stride + step * k)

/* The run for one type. */
#define RUN(HALF) { \
        const long half_ = (HALF); \
        for (long k = 0; k < quads; k++) { \
            const unsigned char *const p = rows + step * k * pitch; \
            FOR_TOKEN_GROUPS(n, F16_TILE) \
        } }

void f16_tokens(const long *args, const float *xin, float *y, float *scratch) {
    const unsigned char *const rows = (const unsigned char *) args[0];
    const long quads = args[1], cols = args[2], ahead = args[3], half = args[4], n = args[5], stride = args[6];
    const long spread = args[7], step = spread == 1 ? 4 : 1;
    const long pitch = cols * (half ? 2 : 4);
    float *const x = ALIGN64(scratch);
    for (long i = 0; i < n * cols; i += 16) {
        _mm512_store_ps(x + i, _mm512_loadu_ps(xin + i));
    }
    if (half) {
        RUN(1)
    } else {
        RUN(0)
    }
}
