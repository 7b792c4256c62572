package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.Parallel;

/**
 * What {@link Q6_KMatrix} and {@link Q8_0IntMatrix} share: each token's activations quantized to int8 per 32 columns
 * ({@link NibbleBlocks#quantizeBlock}), as bytes in column order with each 16-column unit's sum, and the products over
 * tiles of {@link #TR} rows either in machine code ({@link NativeKernels#vnniTokens}, quads of tiles in parallel) or
 * through a Java reference, tile by tile.
 */
final class VnniTokens {
    private VnniTokens() {}

    /** Rows per tile. */
    static final int TR = 32;
    /** Tokens whose activations are quantized at a time for the machine code (each quad of tiles takes them all). */
    private static final int TOKEN_BLOCK = 16;

    /** A Java reference for one tile: tokens {@code t0 .. t1}, their activations at {@code xp[(t - t0) per ..]}. */
    interface JavaTile {
        void tile(int tile, int t0, int t1, short[] xp, int per, float[] xf, float[] y);
    }

    /**
     * {@code y = W x} for {@code n} tokens: in machine code ({@code java} null; {@code form} and {@code d} as
     * {@link NativeKernels#vnniTokens} takes them) or through {@code java}.
     */
    static void multiply(Parallel pool, float[] x, int n, float[] y, int rows, int cols, MemorySegment packed, int form, float[] d,
            JavaTile java) {
        final int nb = cols / 32, tiles = (rows + TR - 1) / TR, quads = (tiles + 3) / 4;
        final float[] xf = pool.scratch(n * nb);
        final int per = 18 * nb; // shorts a token: 32 nb bytes, then 2 nb unit sums
        for (int t0 = 0; t0 < n; t0 += TOKEN_BLOCK) {
            final int first = t0, last = Math.min(n, t0 + TOKEN_BLOCK);
            final short[] xp = pool.shortScratch((last - first) * per);
            pool.forRange(last - first, 1, (q0, q1, w) -> {
                final float[] q = new float[32];
                for (int t = first + q0; t < first + q1; t++) {
                    quantize(x, t, cols, xf, xp, (t - first) * per, q);
                }
            });
            if (java == null) {
                pool.forRange(quads, Math.max(1, (quads + pool.threads() * 4 - 1) / (pool.threads() * 4)), 1,
                        (p0, p1, w) -> NativeKernels.vnniTokens(packed, form, nb, tiles, rows, p0, p1, first, last, n, xp, xf, d, y));
            } else {
                pool.forRange(tiles, 1, (a, b, w) -> {
                    for (int t = a; t < b; t++) {
                        java.tile(t, first, last, xp, per, xf, y);
                    }
                });
            }
        }
    }

    /**
     * Token {@code t}'s activations quantized per 32 columns: {@code dx} at {@code xf[t nb + b]}, the values as bytes in
     * column order at {@code xp[at ..]} (two a short, low byte first), then each 16-column unit's sum at
     * {@code xp[at + 16 nb + u]}.
     */
    private static void quantize(float[] x, int t, int cols, float[] xf, short[] xp, int at, float[] q) {
        final int nb = cols / 32;
        for (int b = 0; b < nb; b++) {
            xf[t * nb + b] = NibbleBlocks.quantizeBlock(x, t * cols + 32 * b, q);
            for (int k = 0; k < 16; k++) {
                xp[at + 16 * b + k] = (short) (((int) q[2 * k] & 0xFF) | (int) q[2 * k + 1] << 8);
            }
            for (int j = 0; j < 2; j++) {
                int sum = 0;
                for (int c = 16 * j; c < 16 * j + 16; c++) {
                    sum += (int) q[c];
                }
                xp[at + 16 * nb + 2 * b + j] = (short) sum;
            }
        }
    }

    /** The quantized activation of column {@code c} of a token whose activations start at {@code xp[at]}. */
    static int xq(short[] xp, int at, int c) {
        final short pair = xp[at + c / 2];
        return (byte) (c % 2 == 0 ? pair : pair >> 8);
    }
}
