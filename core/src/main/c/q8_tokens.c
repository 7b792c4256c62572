/*
 * RedHare native kernel: several tokens through a run of whole tiles of int8 codes with a float scale per block of
 * columns (Q8_0Matrix: Q8_0, Q6_K, IQ4_NL ...), rows of whole 64-column groups: q8_decode.c for a decode step of several
 * users, a drafted run being checked, or a short prompt, as fp8_tokens.c is for FP8. Tile by tile, the tokens go in
 * groups of up to five (sizes balanced); for each group every row's codes widen once per 64 columns (q8_decode.c's
 * shifts, converted to float, times the block's scale) and feed each token's accumulator. Per accumulator the
 * FMAs run in column order with the same factors (code * scale, one rounding), and each token's four row sums are added
 * in VectorMath.sum's tree (lanes.h), plus the empty tail (0.0f): the arithmetic of the Java register kernels
 * (Q8_0Matrix.tile4x1 .. tile4x4) and of one token alone, so the same bits whatever the batch.
 *
 * The activations are first copied to a 64-byte boundary of the scratch (the FMAs load them, and a load across two
 * cache lines costs two).
 *
 * Arguments: args = {codes (address of the first tile), tiles, cols (a multiple of 64), ahead (as rows4.h), shift (log2
 * of the block width, at least 4), nb (blocks per row), n (tokens, at least 1), rows (the outputs' stride)}; x: token t's
 * activations at x[t * cols ..]; scales: the first tile's scales (tile k's at scales + 4 * nb * k, block b's for row j at
 * [4 b + j]); y: token t's output for the run's row i at y[t * rows + i]; scratch: room for n * cols + 15 floats.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "tokens.h"

#define Q8_CODE(v, k) _mm512_cvtepi32_ps(_mm512_srai_epi32((k) == 3 ? (v) : _mm512_slli_epi32(v, 24 - 8 * (k)), 24))
#define Q8_LOAD(o) _mm512_loadu_si512((const void *) (q + (o)))

/* Row J of the tile, one group: its codes widened (from the one aligned load, as q8_decode.c) and scaled once, then
 * every token's FMAs. */
#define TOKENS_ROW(J, A0, A1, A2, A3, A4) { \
        const __m512i v = Q8_LOAD(64 * (J)); \
        __m512 w0 = Q8_CODE(v, 0), w1 = Q8_CODE(v, 1), w2 = Q8_CODE(v, 2); \
        w0 = _mm512_mul_ps(w0, _mm512_set1_ps(s[4 * b0 + (J)])); \
        w1 = _mm512_mul_ps(w1, _mm512_set1_ps(s[4 * b1 + (J)])); \
        w2 = _mm512_mul_ps(w2, _mm512_set1_ps(s[4 * b2 + (J)])); \
        const __m512 w3 = _mm512_mul_ps(Q8_CODE(v, 3), _mm512_set1_ps(s[4 * b3 + (J)])); \
        TOKENS_OF_ROW(TOKEN_FMAS4, A0, A1, A2, A3, A4) }

/* One group of the tile's four rows. */
#define TOKENS_GROUP { \
        const unsigned char *const q = p + 4 * c; \
        PREFETCH_AHEAD(q, ahead) \
        const long b0 = c >> shift, b1 = (c + 16) >> shift, b2 = (c + 32) >> shift, b3 = (c + 48) >> shift; \
        TOKENS_ROW(0, a00, a01, a02, a03, a04) \
        TOKENS_ROW(1, a10, a11, a12, a13, a14) \
        TOKENS_ROW(2, a20, a21, a22, a23, a24) \
        TOKENS_ROW(3, a30, a31, a32, a33, a34) }

/* Token T's outputs of the tile: the four rows' lane sums (lanes.h), plus the empty tail. */
#define TOKENS_OUT(T, A0, A1, A2, A3) { \
        float t4[4]; \
        LANE_SUMS4(A0, A1, A2, A3, t4) \
        float *const yt = y + (T) * rows + 4 * k; \
        yt[0] = t4[0] + 0.0f; \
        yt[1] = t4[1] + 0.0f; \
        yt[2] = t4[2] + 0.0f; \
        yt[3] = t4[3] + 0.0f; }

/* Tile k's rows times N tokens (activations at x, outputs at y + t * rows), inlined once per N so that the
 * accumulators stay in registers. */
static inline __attribute__((always_inline)) void q8_tile_tokens(const long N, const unsigned char *const p, const float *const s,
        const long k, const long cols, const long ahead, const long shift, const long rows, const float *const x, float *const y) {
    TOKENS_ACCUMULATORS
    for (long c = 0; c < cols; c += 64) {
        TOKENS_GROUP
    }
    TOKENS_OUTPUTS(TOKENS_OUT)
}

/* Tile k for the N tokens from T0. */
#define Q8_TILE(N, T0) q8_tile_tokens(N, p, s, k, cols, ahead, shift, rows, x + (T0) * cols, y + (T0) * rows)

void q8_tokens(const long *args, const float *xin, const float *scales, float *y, float *scratch) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], shift = args[4], nb = args[5], n = args[6], rows = args[7];
    float *const x = ALIGN64(scratch);
    for (long i = 0; i < n * cols; i += 16) {
        _mm512_store_ps(x + i, _mm512_loadu_ps(xin + i));
    }
    for (long k = 0; k < tiles; k++) {
        const unsigned char *const p = codes + 4 * cols * k;
        const float *const s = scales + 4 * nb * k;
        FOR_TOKEN_GROUPS(n, Q8_TILE)
    }
}
