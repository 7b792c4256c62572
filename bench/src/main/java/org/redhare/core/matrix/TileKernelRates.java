package org.redhare.core.matrix;

import java.util.Random;

/**
 * The prompt micro-kernel ({@link FloatTiles#tile5tokens4}) on its own: one widened five-row tile of {@code COLS}
 * columns against {@code PANELS} four-token activation panels taken in turn, so that the panels' bytes
 * ({@code PANELS * 4 * COLS * 4}) decide whether they stream from L1, L2 or L3. Prints G multiply-adds/s per round;
 * compare with {@code org.redhare.bench.FmaPeak}. Lives in the kernel's package to call it directly.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar org.redhare.core.matrix.TileKernelRates 448 32}
 */
public final class TileKernelRates {
    private TileKernelRates() {}

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: TileKernelRates COLS PANELS   (COLS a multiple of " + Kernels.PAIR_BLOCK + ")");
            System.exit(2);
        }
        int cols = Integer.parseInt(args[0]);
        int panels = Integer.parseInt(args[1]);
        if (cols <= 0 || cols % Kernels.PAIR_BLOCK != 0 || panels <= 0) {
            System.err.println("COLS must be a positive multiple of " + Kernels.PAIR_BLOCK + " and PANELS positive");
            System.exit(2);
        }
        int out = FloatTiles.TILE_AT + FloatTiles.ROWS * cols + Kernels.L;
        // Sized as G1 humongous objects, as the engine's scratch arrays are (Parallel), so their vectors are aligned
        // as in the engine whatever else the heap holds.
        float[] tile = new float[Math.max(out + 20 * Kernels.L, 1 << 20)];
        float[] xp = new float[Math.max(FloatTiles.TILE_AT + panels * 4 * cols, 1 << 20)];
        Random random = new Random(1);
        for (int i = FloatTiles.TILE_AT; i < FloatTiles.TILE_AT + FloatTiles.ROWS * cols; i++) {
            tile[i] = random.nextFloat();
        }
        for (int i = 0; i < xp.length; i++) {
            xp[i] = random.nextFloat();
        }
        long calls = Math.max(panels, 2_000_000_000L / (20L * cols));
        for (int round = 1; round <= 6; round++) {
            long t0 = System.nanoTime();
            for (long i = 0; i < calls; i++) {
                FloatTiles.tile5tokens4(tile, 0, cols, xp, FloatTiles.TILE_AT + (int) (i % panels) * 4 * cols, FloatTiles.ZERO_ACCUMULATORS, 0, out);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("round %d: %d columns, %d panels (%d KiB): %.2f G multiply-adds/s%n", round, cols, panels,
                    panels * 16L * cols / 1024, 20.0 * cols * calls / seconds / 1e9);
        }
    }
}
