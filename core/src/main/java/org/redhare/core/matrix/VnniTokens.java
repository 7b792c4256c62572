package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.Parallel;

/**
 * What the {@link VnniMatrix} classes share: each token's activations quantized to int8 per 32 columns
 * ({@link NibbleBlocks#quantizeBlock}), as bytes in column order with each 16-column unit's sum, and the products over
 * tiles of {@link #TR} rows either in machine code ({@link NativeKernels#vnniTokens}, quads of tiles in parallel; Q6_K,
 * Q8_0, Q5_K and Q5_1 on AVX2 {@link Avx2Kernels#vnniTokens}) or
 * through a Java reference, tile by tile.
 */
final class VnniTokens {
    private VnniTokens() {}

    /** Rows per tile. */
    static final int TR = 32;
    /**
     * Tokens whose activations are quantized at a time for the machine code (each quad of tiles takes them all; its
     * scratch path keeps 32 tokens' sums in L1): 32 rather than 16 read the weights half as often, Llama-3.2-1B Q4_K_M
     * pp512 about 7% faster on one thread.
     */
    private static final int TOKEN_BLOCK = 32;

    /** A format's blocks, for the Java reference: each (row, 32-column block)'s integer sum and its float scale. */
    interface Blocks {
        /** Row {@code i}'s exact integer sum over the block at {@code tile[at ..]} ({@code b}-th of its row), activations from {@code xp[x ..]}. */
        int sum(byte[] tile, int at, int i, int b, short[] xp, int x);

        /** The factor of that sum besides {@code dx}: {@code d} of tile {@code t}'s row {@code i}, block {@code b}. */
        float scale(byte[] tile, int at, int t, int i, int b);

        /** Whether the format adds an offset per block ({@code W = s u + o}): then {@link #offset} times the block's sum(xq). */
        default boolean offsets() {
            return false;
        }

        /** The offset {@code o} of tile {@code t}'s row {@code i}, block {@code b}. */
        default float offset(byte[] tile, int at, int t, int i, int b) {
            return 0f;
        }

        /**
         * The integer that row {@code i}'s offset multiplies, given the block's two 16-column sums of xq: their sum, or (a
         * code per 16 columns, Q2_K) each times its code.
         */
        default int offsetSum(byte[] tile, int at, int i, int sx0, int sx1) {
            return sx0 + sx1;
        }
    }

    /**
     * {@code y = W x} for {@code n} tokens: in machine code ({@code java} null; {@code form} and {@code d} as
     * {@link NativeKernels#vnniTokens} takes them) or through the Java reference over {@code java}'s blocks
     * ({@code block} bytes each).
     */
    static void multiply(Parallel pool, float[] x, int n, float[] y, int rows, int cols, MemorySegment packed, int form, float[] d,
            int block, Blocks java) {
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
                final boolean vnni = NativeKernels.vnniAvailable();
                pool.forRange(quads, Math.max(1, (quads + pool.threads() * 4 - 1) / (pool.threads() * 4)), 1, (p0, p1, w) -> {
                    if (vnni) {
                        NativeKernels.vnniTokens(packed, form, nb, tiles, rows, p0, p1, first, last, n, xp, xf, d, y);
                    } else { // AVX2: Q6_K, Q8_0, Q5_K, Q5_1 (VnniMatrix#nativeTokens)
                        Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows, p0, p1, first, last, n, xp, xf, d, y);
                    }
                });
            } else {
                pool.forRange(tiles, 1, (a, b, w) -> {
                    for (int t = a; t < b; t++) {
                        tileInJava(packed, block, java, rows, nb, t, first, last, xp, per, xf, y);
                    }
                });
            }
        }
    }

    /**
     * Tile {@code t}'s rows times tokens {@code t0 .. t1}, the machine code's integers and FMAs one at a time: per
     * (row, token) {@code fma(float(sum), scale * dx, acc)} (with offsets then {@code fma(sum(xq), offset * dx, acc)})
     * over the blocks in column order from zero.
     */
    private static void tileInJava(MemorySegment packed, int block, Blocks blocks, int rows, int nb, int t, int t0, int t1, short[] xp,
            int per, float[] xf, float[] y) {
        final byte[] tile = new byte[nb * block];
        MemorySegment.copy(packed, java.lang.foreign.ValueLayout.JAVA_BYTE, (long) t * nb * block, tile, 0, tile.length);
        for (int tok = t0; tok < t1; tok++) {
            for (int i = 0; i < TR && t * TR + i < rows; i++) {
                float acc = 0f;
                for (int b = 0; b < nb; b++) {
                    final int sum = blocks.sum(tile, b * block, i, b, xp, (tok - t0) * per + 16 * b);
                    final float dx = xf[tok * nb + b];
                    acc = Math.fma((float) sum, blocks.scale(tile, b * block, t, i, b) * dx, acc);
                    if (blocks.offsets()) {
                        final int sx = blocks.offsetSum(tile, b * block, i, xp[(tok - t0) * per + 16 * nb + 2 * b],
                                xp[(tok - t0) * per + 16 * nb + 2 * b + 1]);
                        acc = Math.fma((float) sx, blocks.offset(tile, b * block, t, i, b) * dx, acc);
                    }
                }
                y[tok * rows + t * TR + i] = acc;
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
