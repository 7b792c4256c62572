/*
 * RedHare native kernel: one token through a run of whole FP8 tiles (Fp8BlockMatrix, rows of whole 64-column groups),
 * from the activations as they come to the outputs: each scale band's activation factors applied here, each row's sum
 * (fp8_rows4.c's FMAs, fp8_row.h) plus the Java kernel's empty tail (0.0f) times the row's factor, stored in y. A call
 * takes any number of bands, where fp8_rows4 takes one band (128 rows) and leaves the scaling of the activations (a
 * vector loop over the columns per band), the tails and the factors to Java: on rows of 896 columns that work, with the
 * call itself, came to about 5% of an FP8 one-thread decode (perf; docs/PERFORMANCE.md, fifty-third session). Same
 * multiplies, FMAs, lane sums and rounding as that path, so the same bits.
 *
 * Long rows (PAIR_COLS columns or more) go two tiles at a time, tiles k and k + h of one scale band (h: half the band's
 * tiles in the call; an odd last tile alone): eight rows share each load of the band's activations, and the two tiles'
 * codes are two streams a half band apart. One tile at a time, the activations of a long row (19 KB for Qwen2.5-0.5B's
 * down projection, 32 KB for Llama-3.2-1B's) and the codes streaming past them do not both stay in L1: the activations
 * came back from L2 every tile, and those misses took the room the codes' misses need. A C harness walking a model's
 * FP8 matrices in decode order, as the Java side calls this (calls of up to 256 tiles in four chunks a thread), GB/s on
 * one thread: the down projection [896 x 4864] 19.3-21.4 -> 24.3-27.2, Llama-3.2-1B's layers (rows of 2048 and 8192
 * columns) 21.8-22.2 -> 24.9-25.5; with the activations cut to 2 KB (wrong sums, to find the cause) one tile at a time
 * read the down projection at 24.8-27.5, and loading codes alone (no widening, no FMAs) at 28.5-28.7. Rows of 896
 * columns lost in pairs (24.4-26.7 -> 19.9-22.9 for [896 x 896]; 1024 and 1536 columns level), so they stay one tile at
 * a time. Tiles k and k + 1 (neighbours) read slower than one tile everywhere, and a pair each with its own band's
 * activations (half a call apart) measured 1-3% slower end to end (docs/PERFORMANCE.md, seventy-second session). Per
 * row the FMAs run in the same order either way, so the same bits.
 *
 * Arguments: args = {codes (address of the first tile), tiles, cols (a multiple of 64), ahead (bytes to prefetch ahead),
 * r0 (the first tile's first row), band_rows (rows sharing one set of activation factors; a multiple of 4 unless one band
 * holds every row), nb (scale blocks per row), bw (columns per block: a multiple of 16, or at least cols when nb is 1)};
 * x: the activations (cols floats); xscales: band b's factor for block j at xscales[b * nb + j] (xscales[0] for all when
 * nb is 1); factors: row r's factor at factors[r]; y: row r's output at y[r]; scaled: room for cols floats.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "fp8_row.h"

/* From how many columns a row the tiles go in pairs (see above). */
#define PAIR_COLS 2048

/* Row J's FMAs of a group of the tile whose codes are at Q into A (fp8_row.h; x0 .. x3: the group's activations). */
#define PAIR_ROW(A, Q, J) { \
        const unsigned char *const q = (Q); \
        FP8_ROW(A, J, 0) }

/* Four row sums S[0 .. 3] to rows R .. R + 3: the Java kernel's empty tail (0.0f), the row factor. */
#define STORE4(S, R) \
        y[R] = ((S)[0] + 0.0f) * factors[R]; \
        y[(R) + 1] = ((S)[1] + 0.0f) * factors[(R) + 1]; \
        y[(R) + 2] = ((S)[2] + 0.0f) * factors[(R) + 2]; \
        y[(R) + 3] = ((S)[3] + 0.0f) * factors[(R) + 3];

/* A tile's four accumulators to rows R .. R + 3, their lanes added in lanes.h's tree. */
#define TILE_OUT(A0, A1, A2, A3, R) { \
        float s_[4]; \
        LANE_SUMS4(A0, A1, A2, A3, s_) \
        STORE4(s_, R) }

/* Tile k alone (rows r .. r + 3). */
#define LONE_TILE { \
        float s[4]; \
        ROWS4_TILE(FP8_ROW, 0, s) \
        STORE4(s, r) }

void fp8_decode(const long *args, const float *xin, const float *xscales, const float *factors, float *y, float *scaled) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], r0 = args[4], band_rows = args[5], nb = args[6], bw = args[7];
    const long full = cols;
    const float *const x = scaled;
    if (cols >= PAIR_COLS) {
        for (long kb0 = 0; kb0 < tiles; ) { /* the tiles kb0 .. kb1 - 1 of one band */
            const long band = (r0 + 4 * kb0) / band_rows;
            long kb1 = ((band + 1) * band_rows - r0) / 4;
            if (kb1 > tiles) {
                kb1 = tiles;
            }
            FP8_SCALE_BAND(scaled, xin, 1, band)
            const long h = (kb1 - kb0) / 2;
            for (long k = kb0; k < kb0 + h; k++) {
                const long ra = r0 + 4 * k, rb = ra + 4 * h;
                const unsigned char *const pa = codes + 4 * cols * k, *const pb = pa + 4 * cols * h;
                __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (long c = 0; c < cols; c += 64) {
                    const unsigned char *const qa = pa + 4 * c, *const qb = pb + 4 * c;
                    PREFETCH_AHEAD(qa, ahead)
                    PREFETCH_AHEAD(qb, ahead)
                    const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
                    const __m512 x2 = _mm512_loadu_ps(x + c + 32), x3 = _mm512_loadu_ps(x + c + 48);
                    PAIR_ROW(a0, qa, 0)
                    PAIR_ROW(b0, qb, 0)
                    PAIR_ROW(a1, qa, 1)
                    PAIR_ROW(b1, qb, 1)
                    PAIR_ROW(a2, qa, 2)
                    PAIR_ROW(b2, qb, 2)
                    PAIR_ROW(a3, qa, 3)
                    PAIR_ROW(b3, qb, 3)
                }
                TILE_OUT(a0, a1, a2, a3, ra)
                TILE_OUT(b0, b1, b2, b3, rb)
            }
            if ((kb1 - kb0) % 2 != 0) {
                const long k = kb1 - 1, r = r0 + 4 * k;
                LONE_TILE
            }
            kb0 = kb1;
        }
        return;
    }
    long band = -1, next = 0; /* the band whose factors are in scaled; the first row past it */
    for (long k = 0; k < tiles; k++) {
        const long r = r0 + 4 * k;
        if (r >= next) {
            band = r / band_rows;
            next = (band + 1) * band_rows;
            FP8_SCALE_BAND(scaled, xin, 1, band)
        }
        LONE_TILE
    }
}
