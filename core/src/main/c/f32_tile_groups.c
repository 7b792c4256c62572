/*
 * RedHare native kernel: the token groups of a block times five rows already widened to floats, as the Java pass runs
 * FloatTiles.tile5tokens4 once for each group of four tokens. RowWidenedMatrix's prompt pass (F16, F32: six tokens
 * and more) widens a column chunk of five rows into its tile in Java, then this takes every token group of the block
 * over it in one call (FP8 and the int8 types widen inside their own kernels: fp8_tile_groups.c, q8_tile_groups.c). Every (row, token) sum takes the same FMAs in the same order
 * (one 16-lane accumulator, for each 32-column block the first 16 columns' FMA and then the next 16's), and the lanes
 * are added in VectorMath.sum's tree, so the bits are the Java kernels' (WeightMatrixTest compares them).
 *
 * Arguments: args {blocks, groups, xo, full, to, ao, so, first, last, c0} (one array), xp, buf.
 * - The tile at buf + to: block b (32 columns from c0 on), row i at + 160 b + 32 i, the first 16 floats then the next.
 * - Activations: group g (tokens 4g .. 4g + 3) at xp + xo + g * 4 * full + 4 c0, block b at + 128 b, token t's first 16
 *   columns at + 32 t and the next 16 at + 32 t + 16 (Kernels.packTokens4, chunk 32).
 * - Accumulators between chunks: group g's 20 at buf + ao + 320 g, zeros instead of them when first, stored unless last.
 * - When last, the sums: group g at buf + so + 20 g, row i (0..3) of token t at + 4 t + i, row 4 at + 16 + t.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "tiles.h"

void f32_tile_groups(const long *args, const float *xp, float *buf) {
    const long blocks = args[0], groups = args[1], xo = args[2], full = args[3], to = args[4], ao = args[5], so = args[6];
    const long j = args[7] ? 0 : 1; /* INIT4 starts from zeros when j is 0 */
    const long last = args[8], c0 = args[9];
    const float *const tile = buf + to;
    for (long g = 0; g < groups; g++) {
        const float *x = xp + xo + g * 4 * full + 4 * c0;
        float *const acc = buf + ao + 320 * g;
        INIT4(a0, 0) INIT4(a1, 1) INIT4(a2, 2) INIT4(a3, 3) INIT4(a4, 4)
        for (long b = 0; b < blocks; b++) {
            LOAD_X
            const float *t = tile + 160 * b;
            TILE_ROWS5
        }
        KEEP_OR_SUM(!last, buf + so + 20 * g)
    }
}
