package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.DType;

/**
 * GGML Q3_K weights in integers (the bulk of a Q3_K_S/M/L file, part of a Q2_K one): {@code W = d sc (u - 4)} with a
 * 3-bit value {@code u}, a 6-bit scale {@code sc} (less 32: -32..31) per 16 columns and an f16 {@code d} per 256-column
 * super-block of each row. As {@link Q6_KMatrix}: each token's activations quantized to int8 per 32 columns
 * ({@link NibbleBlocks#quantizeBlock}); per 16-column unit the exact {@code T = sum((u - 4) xq)} (at most 16 * 4 * 127 =
 * 8128 in size); per 32-column block {@code sc0 T0 + sc1 T1} as integers (at most 520192 in size, exact as a float), and
 * per (row, token) {@code fma(float(sum), d dx, acc)} over the blocks in column order from zero: the same bits alone, in
 * any batch, on any number of threads, and in {@link #multiplyInJava}.
 *
 * <p>Why: {@link Q8_0Matrix#ofGgmlQ3_K} widens each value to an int8 code with a float scale per 16 columns (1.25 bytes
 * a weight where the file has 0.43) and multiplies floats; here the values stay 3 bits, rearranged into AVX512-VNNI's
 * {@code VPDPBUSD} lanes and put together in the kernel ({@code vnni_tokens.h}, form 10). Only where that machine code
 * runs ({@link #runsHere}); elsewhere Q3_K stays on {@link Q8_0Matrix}.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of 32 rows, 448-byte blocks of 32 columns: per 16-column unit 192 bytes,
 * two vectors of low bit pairs and one of third bits ({@link #pair}, {@link #third}); then the rows' scales less 32 as
 * signed bytes, unit 0's at 384 and unit 1's at 416; {@code d} per tile, super-block and row as a float.
 */
public final class Q3_KIntMatrix extends VnniMatrix {
    /** Bytes of a tile's 32-column block: 2 units of 3 x 64 bytes of values, then 2 x 32 scales. */
    private static final int BLOCK = 448;
    private static final int SCALES = 384;
    /** {@code -Dredhare.q3kIntegers=false}: Q3_K weights load as {@link Q8_0Matrix} even where this runs, for measuring. */
    private static final boolean INTEGERS = Boolean.parseBoolean(System.getProperty("redhare.q3kIntegers", "true"));

    private Q3_KIntMatrix(int rows, int cols) {
        super(rows, cols, 10, BLOCK, TR);
    }

    /**
     * Whether Q3_K weights take this class here: where its machine code runs (x86-64 with AVX-512 and VNNI, see
     * {@link NativeKernels#vnniTokens}, or with AVX2 and 8-float vectors, {@link Avx2Kernels#vnniTokens}), unless
     * {@code -Dredhare.q3kIntegers=false}.
     */
    public static boolean runsHere() {
        return runs(INTEGERS) || INTEGERS && Avx2Kernels.vnniAvailable(10);
    }

    /**
     * Over GGML Q3_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of 32 bytes {@code hmask}, 64 bytes
     * of 2-bit codes, 12 bytes packing sixteen 6-bit scales and an f16 {@code d} (read as {@link Q8_0Matrix#ofGgmlQ3_K}
     * reads them); repacked into the tile layout in ranges of tiles over {@link Repacking}'s threads.
     */
    public static Q3_KIntMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 110, "Q3_K");
        Q3_KIntMatrix m = new Q3_KIntMatrix(rows, cols);
        m.repack(blocks);
        return m;
    }

    @Override
    int fileBlock() {
        return 110;
    }

    @Override
    void superBlock(byte[] blk, byte[] tile, int t, int i, int k) {
        d[(t * nsb + k) * TR + i] = QuantKernels.half(blk, 108);
        for (int m = 0; m < 16; m++) { // the scale of columns 16 m .. 16 m + 15
            final int low = m < 8 ? blk[96 + m] & 0xF : (blk[96 + m - 8] & 0xFF) >>> 4;
            final int high = (blk[96 + 8 + m % 4] & 0xFF) >>> 2 * (m / 4) & 3;
            tile[(8 * k + m / 2) * BLOCK + SCALES + 32 * (m % 2) + i] = (byte) ((low | high << 4) - 32);
        }
        for (int c = 0; c < 256; c++) { // value 128 h + 32 j + l: bits 2 j of code byte 32 h + l, bit 4 h + j of hmask[l]
            final int h = c / 128, j = c % 128 / 32, l = c % 32;
            final int q = (blk[32 + 32 * h + l] & 0xFF) >>> 2 * j & 3;
            final int hi = (blk[l] & 0xFF) >>> (4 * h + j) & 1;
            final int at = (8 * k + c / 32) * BLOCK, cc = c % 32;
            tile[at + pair(i, cc)] |= (byte) (q << pairShift(i, cc));
            tile[at + third(i, cc)] |= (byte) (hi << thirdShift(i, cc));
        }
    }

    @Override public DType dtype() { return DType.Q3_K; }

    /** The machine code's integers one at a time: per 16-column unit {@code T = sum((u - 4) xq)}, then {@code sc0 T0 + sc1 T1}. */
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
                    unit += (value(tile, at, i, 16 * j + c) - 4) * VnniTokens.xq(xp, x, 16 * j + c);
                }
                sum += tile[at + SCALES + 32 * j + i] * unit;
            }
            return sum;
        }

        @Override
        public float scale(byte[] tile, int at, int t, int i, int b) {
            return d[(t * nsb + b / 8) * TR + i];
        }
    };

    @Override
    void blockRow(byte[] block, int t, int i, int b, float[] dst, int at) {
        for (int cc = 0; cc < 32; cc++) { // (d sc) (u - 4), as Q8_0Matrix.ofGgmlQ3_K's rows: d sc exact, one rounding
            final float s = d[(t * nsb + b / 8) * TR + i] * block[SCALES + 32 * (cc / 16) + i];
            dst[at + cc] = s * (value(block, 0, i, cc) - 4);
        }
    }

    /*
     * Where row i's (of its tile) value at column cc (of its 32-column block) lies: unit j = cc / 16, step s = cc % 16 / 4
     * and half h = i / 16 make it vector m = 2 s + h of the unit (16 rows, a row's four columns a 32-bit lane, byte
     * 4 (i % 16) + cc % 4); its two low bits in the unit's pair vector m / 4 at bits 2 (m % 4), its third bit in the
     * unit's bit vector at bit m (vnni_tokens.h, form 10).
     */

    private static int vector(int i, int cc) {
        return 2 * (cc % 16 / 4) + i / 16;
    }

    /** Byte (from the block's start) of row {@code i}'s two low bits at column {@code cc}. */
    private static int pair(int i, int cc) {
        return 192 * (cc / 16) + 64 * (vector(i, cc) / 4) + 4 * (i % 16) + cc % 4;
    }

    private static int pairShift(int i, int cc) {
        return 2 * (vector(i, cc) % 4);
    }

    /** Byte (from the block's start) of row {@code i}'s third bit at column {@code cc}. */
    private static int third(int i, int cc) {
        return 192 * (cc / 16) + 128 + 4 * (i % 16) + cc % 4;
    }

    private static int thirdShift(int i, int cc) {
        return vector(i, cc);
    }

    /** Row {@code i}'s 3-bit value at column {@code cc} of the block at {@code at}. */
    private static int value(byte[] tile, int at, int i, int cc) {
        return (tile[at + pair(i, cc)] >> pairShift(i, cc) & 3) | (tile[at + third(i, cc)] >> thirdShift(i, cc) & 1) << 2;
    }
}
