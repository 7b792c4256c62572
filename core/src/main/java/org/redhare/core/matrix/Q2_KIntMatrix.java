package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.DType;

/**
 * GGML Q2_K weights in integers (the bulk of a Q2_K file): {@code W = d sc u - dmin m} with a 2-bit value {@code u},
 * 4-bit codes {@code sc} and {@code m} per 16 columns and f16 {@code d}, {@code dmin} per 256-column super-block of each
 * row. Each token's activations quantized to int8 per 32 columns ({@link NibbleBlocks#quantizeBlock}); per 16-column
 * unit the exact {@code T = sum(u xq)} (at most 16 * 3 * 127 = 6096 in size); per 32-column block the integers
 * {@code sc0 T0 + sc1 T1} and {@code m0 S0 + m1 S1} ({@code S} a unit's sum of xq), and per (row, token)
 * {@code fma(float(first), d dx, acc)} then {@code fma(float(second), -dmin dx, acc)} over the blocks in column order
 * from zero: the same bits alone, in any batch, on any number of threads, and in {@link #multiplyInJava}.
 *
 * <p>Why: {@link AffineBlockMatrix#ofGgmlQ2_K} widens each value to an int8 code with a float scale and offset per 16
 * columns (1.5 bytes a weight where the file has 0.33) and multiplies floats; here the values stay 2 bits, in
 * AVX512-VNNI's {@code VPDPBUSD} lanes ({@code vnni_tokens.h}, form 11). Only where that machine code runs
 * ({@link #runsHere}); elsewhere Q2_K stays on {@link AffineBlockMatrix}.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of 32 rows, 320-byte blocks of 32 columns: per 16-column unit 128 bytes,
 * two vectors of bit pairs as {@link Q3_KIntMatrix}'s ({@link #pair}); then the rows' codes {@code sc | m << 4}, unit
 * 0's at 256 and unit 1's at 288; {@code d} and {@code -dmin} per tile, super-block and row as floats (as {@link
 * Q5_KMatrix}'s).
 */
public final class Q2_KIntMatrix extends VnniMatrix {
    /** Bytes of a tile's 32-column block: 2 units of 2 x 64 bytes of values, then 2 x 32 codes. */
    private static final int BLOCK = 320;
    private static final int CODES = 256;
    /** {@code -Dredhare.q2kIntegers=false}: Q2_K weights load as {@link AffineBlockMatrix} even where this runs, for measuring. */
    private static final boolean INTEGERS = Boolean.parseBoolean(System.getProperty("redhare.q2kIntegers", "true"));

    private Q2_KIntMatrix(int rows, int cols) {
        super(rows, cols, 11, BLOCK, 2 * TR);
    }

    /**
     * Whether Q2_K weights take this class here: where its machine code runs (x86-64 with AVX-512 and VNNI, see
     * {@link NativeKernels#vnniTokens}, or with AVX2 and 8-float vectors, {@link Avx2Kernels#vnniTokens}), unless
     * {@code -Dredhare.q2kIntegers=false}.
     */
    public static boolean runsHere() {
        return runs(INTEGERS) || INTEGERS && Avx2Kernels.vnniAvailable(11);
    }

    /**
     * Over GGML Q2_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of 16 code bytes ({@code sc} low
     * nibble, {@code m} high, per 16 values), 64 bytes of 2-bit values (value {@code 128 h + 32 j + l} at bits {@code 2 j}
     * of byte {@code 32 h + l}), f16 {@code d} and {@code dmin}; repacked into the tile layout in ranges of tiles over
     * {@link Repacking}'s threads.
     */
    public static Q2_KIntMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 84, "Q2_K");
        Q2_KIntMatrix m = new Q2_KIntMatrix(rows, cols);
        m.repack(blocks);
        return m;
    }

    @Override
    int fileBlock() {
        return 84;
    }

    @Override
    void superBlock(byte[] blk, byte[] tile, int t, int i, int k) {
        d[(t * nsb + k) * 2 * TR + i] = QuantKernels.half(blk, 80);
        d[(t * nsb + k) * 2 * TR + TR + i] = -QuantKernels.half(blk, 82); // (-dmin) m = -(dmin m) exactly
        for (int m = 0; m < 16; m++) { // the codes of columns 16 m .. 16 m + 15
            tile[(8 * k + m / 2) * BLOCK + CODES + 32 * (m % 2) + i] = blk[m];
        }
        for (int c = 0; c < 256; c++) {
            final int h = c / 128, j = c % 128 / 32, l = c % 32;
            final int u = (blk[16 + 32 * h + l] & 0xFF) >>> 2 * j & 3;
            tile[(8 * k + c / 32) * BLOCK + pair(i, c % 32)] |= (byte) (u << pairShift(i, c % 32));
        }
    }

    @Override public DType dtype() { return DType.Q2_K; }

    /** The machine code's integers one at a time: {@code sc0 T0 + sc1 T1} and {@code m0 S0 + m1 S1}; {@code d}, {@code -dmin}. */
    @Override
    VnniTokens.Blocks javaBlocks() {
        return javaBlocks;
    }

    private final VnniTokens.Blocks javaBlocks = new VnniTokens.Blocks() {
        @Override
        public int sum(byte[] tile, int at, int i, int b, short[] xp, int x) {
            int sum = 0;
            for (int j = 0; j < 2; j++) {
                int unit = 0;
                for (int c = 0; c < 16; c++) {
                    unit += value(tile, at, i, 16 * j + c) * VnniTokens.xq(xp, x, 16 * j + c);
                }
                sum += (tile[at + CODES + 32 * j + i] & 0xF) * unit;
            }
            return sum;
        }

        @Override
        public float scale(byte[] tile, int at, int t, int i, int b) {
            return d[(t * nsb + b / 8) * 2 * TR + i];
        }

        @Override
        public boolean offsets() {
            return true;
        }

        @Override
        public float offset(byte[] tile, int at, int t, int i, int b) {
            return d[(t * nsb + b / 8) * 2 * TR + TR + i];
        }

        @Override
        public int offsetSum(byte[] tile, int at, int i, int sx0, int sx1) {
            return (tile[at + CODES + i] & 0xFF) / 16 * sx0 + (tile[at + CODES + 32 + i] & 0xFF) / 16 * sx1;
        }
    };

    @Override
    void blockRow(byte[] block, int t, int i, int b, float[] dst, int at) {
        final float dd = javaBlocks.scale(block, 0, t, i, b), dm = javaBlocks.offset(block, 0, t, i, b);
        for (int cc = 0; cc < 32; cc++) { // u (d sc) + (-dmin) m: both products exact, one rounding
            final int code = block[CODES + 32 * (cc / 16) + i] & 0xFF;
            dst[at + cc] = Math.fma((float) value(block, 0, i, cc), dd * (code & 0xF), dm * (code >>> 4));
        }
    }

    /** Vector {@code m = 2 s + h} of its unit holding row {@code i}'s value at column {@code cc} (step s, half h). */
    private static int vector(int i, int cc) {
        return 2 * (cc % 16 / 4) + i / 16;
    }

    /** Byte (from the block's start) of row {@code i}'s two bits at column {@code cc}: unit, pair vector, lane. */
    private static int pair(int i, int cc) {
        return 128 * (cc / 16) + 64 * (vector(i, cc) / 4) + 4 * (i % 16) + cc % 4;
    }

    private static int pairShift(int i, int cc) {
        return 2 * (vector(i, cc) % 4);
    }

    /** Row {@code i}'s 2-bit value at column {@code cc} of the block at {@code at}. */
    private static int value(byte[] tile, int at, int i, int cc) {
        return tile[at + pair(i, cc)] >> pairShift(i, cc) & 3;
    }
}
