/*
 * RedHare native kernel: several tokens through a run of whole FP8 tiles (Fp8BlockMatrix, rows of whole 64-column
 * groups), from the activations as they come to the outputs: fp8_decode.c for a decode step of several users, a drafted
 * run being checked, or a short prompt. Tile by tile, the tokens go in groups of up to five (sizes balanced: 3 + 3 for
 * six, 4 + 4 + 4 + 4 for sixteen); for each group every row's codes widen once per 64 columns (fp8_row.h's shifts and
 * masks) and feed each token's accumulator, the tile's codes staying in L1 from one group to the next. Per accumulator
 * the FMAs run in column order, and each token's four row sums are added in VectorMath.sum's tree (lanes.h), plus the
 * empty tail (0.0f), times the row's factor: the arithmetic of the Java register kernels (Fp8BlockMatrix.tile4x1 ..
 * tile4x4) and of one token alone, so the same bits whatever the batch.
 *
 * Before this, two to five tokens ran in Java while one token ran here (two tokens took three times as long as one), and
 * six or more widened a float tile first; from three tokens this runs at about 85% of the FMA units' peak
 * (docs/PERFORMANCE.md, fifty-fourth session).
 *
 * Registers: 4 N accumulators (20 for five tokens), the row's four widened vectors and the mask; the activations are
 * read by the FMAs from memory (one load a FMA, which the load ports keep up with), from a 64-byte boundary.
 *
 * Arguments: args = {codes (address of the first tile), tiles, cols (a multiple of 64), ahead (as rows4.h), r0 (the
 * first tile's first row), band_rows (rows sharing one set of activation factors; a multiple of 4 unless one band holds
 * every row), nb (scale blocks per row), bw (columns per block: a multiple of 16, or at least cols when nb is 1), n
 * (tokens, at least 1), rows (the outputs' stride: token t's row r at y[t * rows + r])}; x: token t's activations at
 * x[t * cols ..]; xscales: band b's factor for block j at xscales[b * nb + j] (xscales[0] for all when nb is 1);
 * factors: row r's factor at factors[r]; scaled: room for n * cols + 15 floats.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "fp8_row.h"

/* The most tokens one pass over a tile takes (4 N accumulators, the widened row and the mask in 32 registers). */
#define GROUP_MAX 5

/* Token T's four FMAs of one row and group into A (w0 .. w3: the row's widened codes). */
#define TOKEN_FMAS(T, A) \
        if (N > (T)) { \
            const float *const xt = scaled + (T) * cols + c; /* scaled: the group's activations */ \
            A = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xt), A); \
            A = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xt + 16), A); \
            A = _mm512_fmadd_ps(w2, _mm512_loadu_ps(xt + 32), A); \
            A = _mm512_fmadd_ps(w3, _mm512_loadu_ps(xt + 48), A); }

/* Row J of the tile, one group: its codes widened once (fp8_row.h), then every token's FMAs. */
#define TOKENS_ROW(J, A0, A1, A2, A3, A4, FIRST) { \
        const __m512i v = _mm512_loadu_si512((const void *) (q + 64 * (J))); \
        const __m512i u = FIRST ? _mm512_slli_epi32(v, 8) : _mm512_loadu_si512((const void *) (q + 64 * (J) - 1)); \
        const __m512i hi = _mm512_srai_epi16(v, 4), lo = _mm512_srai_epi16(u, 4); \
        const __m512 w0 = FP8_TOP(_mm512_slli_epi32(lo, 16)), w1 = FP8_TOP(_mm512_slli_epi32(hi, 16)); \
        const __m512 w2 = FP8_TOP(lo), w3 = FP8_TOP(hi); \
        TOKEN_FMAS(0, A0) TOKEN_FMAS(1, A1) TOKEN_FMAS(2, A2) TOKEN_FMAS(3, A3) TOKEN_FMAS(4, A4) }

/* One group of the tile's four rows; FIRST: the call's first group. */
#define TOKENS_GROUP(FIRST) { \
        const unsigned char *const q = p + 4 * c; \
        PREFETCH_AHEAD(q, ahead) \
        TOKENS_ROW(0, a00, a01, a02, a03, a04, FIRST) \
        TOKENS_ROW(1, a10, a11, a12, a13, a14, FIRST) \
        TOKENS_ROW(2, a20, a21, a22, a23, a24, FIRST) \
        TOKENS_ROW(3, a30, a31, a32, a33, a34, FIRST) }

/* Token T's outputs of the tile: the four rows' lane sums (lanes.h), plus the empty tail, times the row factors. */
#define TOKENS_OUT(T, A0, A1, A2, A3) { \
        float s[4]; \
        LANE_SUMS4(A0, A1, A2, A3, s) \
        float *const yt = y + (T) * rows + r; \
        yt[0] = (s[0] + 0.0f) * factors[r]; \
        yt[1] = (s[1] + 0.0f) * factors[r + 1]; \
        yt[2] = (s[2] + 0.0f) * factors[r + 2]; \
        yt[3] = (s[3] + 0.0f) * factors[r + 3]; }

/* Tile k's rows times N tokens (activations at x, token t's at x + t * cols; outputs at y + t * rows), inlined once
 * per N so that the accumulators stay in registers. */
static inline __attribute__((always_inline)) void fp8_tile_tokens(const long N, const unsigned char *const p, const long k,
        const long cols, const long ahead, const long r, const long rows, const float *const scaled, const float *const factors,
        float *const y) {
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00;
    __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00;
    __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00;
    long c = 0;
    if (k == 0) { /* the call's first group: the byte before it may lie outside the codes */
        TOKENS_GROUP(1)
        c = 64;
    }
    for (; c < cols; c += 64) {
        TOKENS_GROUP(0)
    }
    TOKENS_OUT(0, a00, a10, a20, a30)
    if (N > 1) TOKENS_OUT(1, a01, a11, a21, a31)
    if (N > 2) TOKENS_OUT(2, a02, a12, a22, a32)
    if (N > 3) TOKENS_OUT(3, a03, a13, a23, a33)
    if (N > 4) TOKENS_OUT(4, a04, a14, a24, a34)
}

void fp8_tokens(const long *args, const float *xin, const float *xscales, const float *factors, float *y, float *scaled) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], r0 = args[4], band_rows = args[5], nb = args[6], bw = args[7];
    const long n = args[8], rows = args[9];
    /* The scaled activations start on a 64-byte boundary: every FMA loads one, and a load across two cache lines costs
     * two (a Java array's floats start 16 bytes into it). */
    float *const x = (float *) (((unsigned long) scaled + 63) & ~63UL);
    const long groups = (n + GROUP_MAX - 1) / GROUP_MAX; /* token groups of balanced sizes: 3 + 3 for 6, 4 + 4 + 4 + 4 for 16 */
    long band = -1, next = 0; /* the band whose factors are in x; the first row past it */
    for (long k = 0; k < tiles; k++) {
        const long r = r0 + 4 * k;
        if (r >= next) {
            band = r / band_rows;
            next = (band + 1) * band_rows;
            for (long t = 0; t < n; t++) {
                for (long j = 0, c0 = 0; c0 < cols; j++, c0 += bw) {
                    const __m512 f = _mm512_set1_ps(xscales[nb > 1 ? band * nb + j : 0]);
                    const long c1 = nb > 1 && c0 + bw < cols ? c0 + bw : cols;
                    for (long c = c0; c < c1; c += 16) {
                        _mm512_storeu_ps(x + t * cols + c, _mm512_mul_ps(_mm512_loadu_ps(xin + t * cols + c), f));
                    }
                }
            }
        }
        const unsigned char *const p = codes + 4 * cols * k;
        for (long g = 0, t0 = 0; g < groups; g++) {
            const long t1 = n * (g + 1) / groups;
            const float *const xg = x + t0 * cols;
            float *const yg = y + t0 * rows;
            switch (t1 - t0) {
            case 1: fp8_tile_tokens(1, p, k, cols, ahead, r, rows, xg, factors, yg); break;
            case 2: fp8_tile_tokens(2, p, k, cols, ahead, r, rows, xg, factors, yg); break;
            case 3: fp8_tile_tokens(3, p, k, cols, ahead, r, rows, xg, factors, yg); break;
            case 4: fp8_tile_tokens(4, p, k, cols, ahead, r, rows, xg, factors, yg); break;
            default: fp8_tile_tokens(5, p, k, cols, ahead, r, rows, xg, factors, yg); break;
            }
            t0 = t1;
        }
    }
}
