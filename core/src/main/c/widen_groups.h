/*
 * The token-group loop of the kernels that widen a five-row tile of 8-bit codes inside the first group's loop
 * (fp8_tile_groups.c, q8_tile_groups.c): WIDEN_ROW8(A, I) widens row I's 64 codes of group k into blocks b and b + 1 of
 * the tile at t and takes block b's FMAs into row accumulators A; then block b + 1 runs from the tile, and the later
 * groups read the tile as f32_tile_groups.c does. Expects blocks, groups, xo, full, to, ao, so, j, last, c0, xp, buf.
 */
#include "tiles.h"

/* The numbers every such kernel takes first: args {blocks, groups, xo, full, to, ao, so, first, last, c0, ...}. */
#define GROUP_ARGS \
    const long blocks = args[0], groups = args[1], xo = args[2], full = args[3], to = args[4], ao = args[5], so = args[6]; \
    const long j = args[7] ? 0 : 1; /* INIT4 starts from zeros when j is 0 */ \
    const long last = args[8], c0 = args[9];

/* Five row addresses from args[AT] on. */
#define ROWS_AT(AT) const unsigned char *const rows[5] = { \
        (const unsigned char *) args[(AT)], (const unsigned char *) args[(AT) + 1], (const unsigned char *) args[(AT) + 2], \
        (const unsigned char *) args[(AT) + 3], (const unsigned char *) args[(AT) + 4] };

#define WIDEN_GROUPS_BODY \
    float *const tile = buf + to; \
    for (long g = 0; g < groups; g++) { \
        const float *x = xp + xo + g * 4 * full + 4 * c0; \
        float *const acc = buf + ao + 320 * g; \
        INIT4(a0, 0) INIT4(a1, 1) INIT4(a2, 2) INIT4(a3, 3) INIT4(a4, 4) \
        if (g == 0) { \
            for (long k = 0; 2 * k < blocks; k++) { \
                { \
                    const long b = 2 * k; \
                    LOAD_X \
                    float *t = tile + 160 * b; \
                    WIDEN_ROW8(a0, 0) \
                    WIDEN_ROW8(a1, 1) \
                    WIDEN_ROW8(a2, 2) \
                    WIDEN_ROW8(a3, 3) \
                    WIDEN_ROW8(a4, 4) \
                } \
                { \
                    const long b = 2 * k + 1; \
                    LOAD_X \
                    const float *t = tile + 160 * b; \
                    TILE_ROWS5 \
                } \
            } \
        } else { \
            for (long b = 0; b < blocks; b++) { \
                LOAD_X \
                const float *t = tile + 160 * b; \
                TILE_ROWS5 \
            } \
        } \
        KEEP_OR_SUM(!last, buf + so + 20 * g) \
    }
