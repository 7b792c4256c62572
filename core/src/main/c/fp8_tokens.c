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
#include "tokens.h"

/* Row J of the tile, one group: its codes widened once (fp8_row.h, from the one aligned load as there), then every
 * token's FMAs. */
#define TOKENS_ROW(J, A0, A1, A2, A3, A4) { \
        const __m512i v = _mm512_loadu_si512((const void *) (q + 64 * (J))); \
        const __m512i u = _mm512_slli_epi32(v, 8); \
        const __m512i hi = _mm512_srai_epi16(v, 4), lo = _mm512_srai_epi16(u, 4); \
        const __m512 w0 = FP8_TOP(_mm512_slli_epi32(lo, 16)), w1 = FP8_TOP(_mm512_slli_epi32(hi, 16)); \
        const __m512 w2 = FP8_TOP(lo), w3 = FP8_TOP(hi); \
        TOKENS_OF_ROW(TOKEN_FMAS4, A0, A1, A2, A3, A4) }

/* One group of the tile's four rows. */
#define TOKENS_GROUP { \
        const unsigned char *const q = p + 4 * c; \
        PREFETCH_AHEAD(q, ahead) \
        TOKENS_ROW(0, a00, a01, a02, a03, a04) \
        TOKENS_ROW(1, a10, a11, a12, a13, a14) \
        TOKENS_ROW(2, a20, a21, a22, a23, a24) \
        TOKENS_ROW(3, a30, a31, a32, a33, a34) }

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
static inline __attribute__((always_inline)) void fp8_tile_tokens(const long N, const unsigned char *const p,
        const long cols, const long ahead, const long r, const long rows, const float *const x, const float *const factors,
        float *const y) {
    TOKENS_ACCUMULATORS
    for (long c = 0; c < cols; c += 64) {
        TOKENS_GROUP
    }
    TOKENS_OUTPUTS(TOKENS_OUT)
}

/* Tile k for the N tokens from T0. */
#define FP8_TILE(N, T0) fp8_tile_tokens(N, p, cols, ahead, r, rows, x + (T0) * cols, factors, y + (T0) * rows)

void fp8_tokens(const long *args, const float *xin, const float *xscales, const float *factors, float *y, float *scaled) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], r0 = args[4], band_rows = args[5], nb = args[6], bw = args[7];
    const long n = args[8], rows = args[9];
    float *const x = ALIGN64(scaled); /* the scaled activations */
    long band = -1, next = 0; /* the band whose factors are in x; the first row past it */
    for (long k = 0; k < tiles; k++) {
        const long r = r0 + 4 * k;
        if (r >= next) {
            band = r / band_rows;
            next = (band + 1) * band_rows;
            FP8_SCALE_BAND(x, xin, n, band)
        }
        const unsigned char *const p = codes + 4 * cols * k;
        FOR_TOKEN_GROUPS(n, FP8_TILE)
    }
}
