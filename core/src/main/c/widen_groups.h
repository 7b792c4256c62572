/*
 * The token-group loop of the kernels that widen a five-row tile of 8-bit codes inside the first group's loop
 * (fp8_tile_groups.c, q8_tile_groups.c): WIDEN_ROW8(A, I) widens row I's 64 codes of group k into blocks b and b + 1 of
 * the tile at t and takes block b's FMAs into row accumulators A; then block b + 1 runs from the tile, and the later
 * groups read the tile as f32_tile_groups.c does. Expects blocks, groups, xo, full, to, ao, so, j, last, c0, xp, buf.
 */
#include "tiles.h"

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
