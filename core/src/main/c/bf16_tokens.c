/*
 * RedHare native kernel: BF16 rows (Bf16Matrix) times a few tokens (a decode step of two to eight users, a drafted
 * run being checked), rows of whole 32-column blocks, four rows at a time (neighbours, or four streams). Each row's
 * 64-byte block is widened once in registers (even columns: the low halves shifted up; odd columns: the high halves
 * masked) and feeds every token of a group of up to five (sizes balanced) before the next block; the Java register
 * kernel (Bf16Matrix.computeStreaming) took groups of at most four and ran well below the FMA peak with two.
 *
 * Per (row, token) one accumulator takes, block by block in column order, the FMA of the even columns and then of the
 * odd ones, carried from one column panel to the next, and its lanes are added in VectorMath.sum's tree (lanes.h):
 * Bf16Matrix's arithmetic for rows without tail columns, so the same bits.
 *
 * Layout: a matrix of cols <= panel columns is row-major; a wider one is stored in column panels of `panel` columns
 * ([panel][rows][width], the last narrower), so column c of row r is at byte 2 (rows p0 + r width + c - p0), p0 the
 * first column of c's panel and width its column count.
 *
 * Arguments: args = {data (address of the matrix), rows (of the whole matrix), first (the run's first row), quads
 * (groups of four rows: rows first + 4 k .. first + 4 k + 3, or with spread > 1 rows first + k + j spread, j = 0..3,
 * spread = quads), cols (a multiple of 32), panel (a multiple of 32), n (tokens, at least 1), stride (the outputs'
 * stride), ahead (bytes to prefetch ahead in each row, into L2 when negative, as rows4.h), spread (1, or quads: four
 * sequential streams)}; x: token t's activations at x[t * cols ..], deinterleaved (Kernels.deinterleave: per
 * 32-column block its 16 even columns, then its 16 odd ones); y: token t's output for the run's row i at y[t *
 * stride + i]; scratch: room for n * cols + 15 floats (the activations copied to a 64-byte boundary).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "tokens.h"

#define TOKENS_ROW(J, A0, A1, A2, A3, A4) { \
        const __m512i v = _mm512_loadu_si512((const void *) (p + (J) * pitch + 2 * c)); \
        const __m512 w0 = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)); /* even columns */ \
        const __m512 w1 = _mm512_castsi512_ps(_mm512_and_si512(v, high)); /* odd columns */ \
        TOKENS_OF_ROW(TOKEN_FMAS2, A0, A1, A2, A3, A4) }

#define PREFETCH_ROW(J) \
        if (ahead > 0) _mm_prefetch((const char *) (p + (J) * pitch + 2 * c + ahead), _MM_HINT_T0); \
        else if (ahead < 0) _mm_prefetch((const char *) (p + (J) * pitch + 2 * c - ahead), _MM_HINT_T1);

/* Rows r + j spread (j = 0..3) times N tokens (activations at x, row r's outputs at y + t * stride), panel after panel
 * with the accumulators in registers; inlined once per N so that they stay there. */
static inline __attribute__((always_inline)) void rows4_tokens(const long N, const unsigned char *const data, const long rows,
        const long r, const long spread, const long cols, const long panel, const long ahead, const long stride,
        const float *const x, float *const y) {
    const __m512i high = _mm512_set1_epi32((int) 0xFFFF0000);
    TOKENS_ACCUMULATORS
    for (long p0 = 0; p0 < cols; p0 += panel) {
        const long width = cols - p0 < panel ? cols - p0 : panel, pitch = 2 * width * spread;
        const unsigned char *const p = data + 2 * (rows * p0 + r * width - p0); /* column c of row r at p + 2 c */
        for (long c = p0; c < p0 + width; c += 32) {
            PREFETCH_ROWS4
            TOKENS_ROWS4
        }
    }
    TOKENS_OUTPUTS(TOKENS_OUT_SPREAD)
}

/* Quad k's rows for the N tokens from T0. */
#define BF16_TILE(N, T0) rows4_tokens(N, data, rows, first + k * step, spread, cols, panel, ahead, stride, x + (T0) * cols, \
        y + (T0) * stride + k * step)

void bf16_tokens(const long *args, const float *xin, float *y, float *scratch) {
    const unsigned char *const data = (const unsigned char *) args[0];
    const long rows = args[1], first = args[2], quads = args[3], cols = args[4], panel = args[5], n = args[6];
    const long stride = args[7], ahead = args[8], spread = args[9], step = spread == 1 ? 4 : 1;
    float *const x = ALIGN64(scratch);
    for (long i = 0; i < n * cols; i += 16) {
        _mm512_store_ps(x + i, _mm512_loadu_ps(xin + i));
    }
    for (long k = 0; k < quads; k++) {
        FOR_TOKEN_GROUPS(n, BF16_TILE)
    }
}
