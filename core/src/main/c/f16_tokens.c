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
 * (bytes to prefetch ahead in each row, into L2 when negative, as rows4.h), half (1: F16, 0: F32), n (tokens, at least
 * 1), stride (the outputs' stride)}; x: token t's activations at x[t * cols ..]; y: token t's output for the run's row i
 * at y[t * stride + i]; scratch: room for n * cols + 15 floats (the activations copied to a 64-byte boundary: the FMAs
 * load them, and a load across two cache lines costs two).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "lanes.h"

/* The most tokens one pass over four rows takes (4 N accumulators, the widened rows in 32 registers). */
#define GROUP_MAX 5

/* Columns c .. c + 15 (M = 0) or c + 16 .. c + 31 (M = 1) of row J as floats. */
#define ROW16(J, M) (half \
        ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p + (J) * pitch + 2 * (c + 16 * (M))))) \
        : _mm512_loadu_ps((const float *) (p + (J) * pitch + 4 * (c + 16 * (M)))))

/* Token T's two FMAs of one row and block into A (we, wd: the block's halves of the row). */
#define TOKEN_FMAS(T, A) \
        if (N > (T)) { \
            const float *const xt = x + (T) * cols + c; \
            A = _mm512_fmadd_ps(we, _mm512_loadu_ps(xt), A); \
            A = _mm512_fmadd_ps(wd, _mm512_loadu_ps(xt + 16), A); }

#define TOKENS_ROW(J, A0, A1, A2, A3, A4) { \
        const __m512 we = ROW16(J, 0), wd = ROW16(J, 1); \
        TOKEN_FMAS(0, A0) TOKEN_FMAS(1, A1) TOKEN_FMAS(2, A2) TOKEN_FMAS(3, A3) TOKEN_FMAS(4, A4) }

#define PREFETCH_ROW(J) \
        if (ahead > 0) _mm_prefetch((const char *) (p + (J) * pitch + c * size + ahead), _MM_HINT_T0); \
        else if (ahead < 0) _mm_prefetch((const char *) (p + (J) * pitch + c * size - ahead), _MM_HINT_T1);

/* Token T's outputs of the four rows: their lane sums (lanes.h). */
#define TOKENS_OUT(T, A0, A1, A2, A3) { \
        float s[4]; \
        LANE_SUMS4(A0, A1, A2, A3, s) \
        float *const yt = y + (T) * stride; \
        yt[0] = s[0]; \
        yt[1] = s[1]; \
        yt[2] = s[2]; \
        yt[3] = s[3]; }

/* Four rows from p times N tokens (activations at x, outputs at y + t * stride), inlined once per N and type so that
 * the accumulators stay in registers. */
static inline __attribute__((always_inline)) void rows4_tokens(const long N, const long half, const unsigned char *const p,
        const long pitch, const long cols, const long ahead, const long stride, const float *const x, float *const y) {
    const long size = half ? 2 : 4;
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00;
    __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00;
    __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00;
    for (long c = 0; c < cols; c += 32) {
        if (half || (c & 32) == 0) { /* one prefetch per row and cache line */
            PREFETCH_ROW(0) PREFETCH_ROW(1) PREFETCH_ROW(2) PREFETCH_ROW(3)
        }
        TOKENS_ROW(0, a00, a01, a02, a03, a04)
        TOKENS_ROW(1, a10, a11, a12, a13, a14)
        TOKENS_ROW(2, a20, a21, a22, a23, a24)
        TOKENS_ROW(3, a30, a31, a32, a33, a34)
    }
    TOKENS_OUT(0, a00, a10, a20, a30)
    if (N > 1) TOKENS_OUT(1, a01, a11, a21, a31)
    if (N > 2) TOKENS_OUT(2, a02, a12, a22, a32)
    if (N > 3) TOKENS_OUT(3, a03, a13, a23, a33)
    if (N > 4) TOKENS_OUT(4, a04, a14, a24, a34)
}

/* The run for one type (HALF constant), token groups of balanced sizes. */
#define RUN(HALF) \
    for (long k = 0; k < quads; k++) { \
        const unsigned char *const p = rows + 4 * k * pitch; \
        for (long g = 0, t0 = 0; g < groups; g++) { \
            const long t1 = n * (g + 1) / groups; \
            const float *const xg = x + t0 * cols; \
            float *const yg = y + t0 * stride + 4 * k; \
            switch (t1 - t0) { \
            case 1: rows4_tokens(1, HALF, p, pitch, cols, ahead, stride, xg, yg); break; \
            case 2: rows4_tokens(2, HALF, p, pitch, cols, ahead, stride, xg, yg); break; \
            case 3: rows4_tokens(3, HALF, p, pitch, cols, ahead, stride, xg, yg); break; \
            case 4: rows4_tokens(4, HALF, p, pitch, cols, ahead, stride, xg, yg); break; \
            default: rows4_tokens(5, HALF, p, pitch, cols, ahead, stride, xg, yg); break; \
            } \
            t0 = t1; \
        } \
    }

void f16_tokens(const long *args, const float *xin, float *y, float *scratch) {
    const unsigned char *const rows = (const unsigned char *) args[0];
    const long quads = args[1], cols = args[2], ahead = args[3], half = args[4], n = args[5], stride = args[6];
    const long pitch = cols * (half ? 2 : 4);
    float *const x = (float *) (((unsigned long) scratch + 63) & ~63UL);
    for (long i = 0; i < n * cols; i += 16) {
        _mm512_store_ps(x + i, _mm512_loadu_ps(xin + i));
    }
    const long groups = (n + GROUP_MAX - 1) / GROUP_MAX;
    if (half) {
        RUN(1)
    } else {
        RUN(0)
    }
}
