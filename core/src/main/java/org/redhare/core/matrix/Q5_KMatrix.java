package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * GGML Q5_K weights in integers: {@code W = d sc u - dmin m} with a 5-bit value {@code u}, 6-bit codes {@code sc} and
 * {@code m} per 32 columns and f16 {@code d}, {@code dmin} per 256-column super-block of each row (the bulk of a Q5_K_M
 * file). Each token's activations are quantized to int8 per 32 columns ({@link NibbleBlocks#quantizeBlock}); per (row,
 * block) the kernel sums {@code T = sum(u xq)} exactly (at most 32 * 31 * 127 = 125984 in size), and each (row, token)
 * adds {@code fma(float(T), (d sc) dx, acc)} and {@code fma(sum(xq), (-dmin m) dx, acc)} over the blocks in column
 * order from zero (both products of factors exact): the same bits alone, in any batch and on any number of threads, and
 * in {@link #multiplyInJava}.
 *
 * <p>Why: {@link AffineBlockMatrix} widens Q5_K to float products (an int8 code a weight, float scales and offsets: 1.25
 * bytes a weight, Q8_0's float rate); here AVX512-VNNI's {@code VPDPBUSD} takes 64 byte products an instruction
 * ({@code vnni_tokens.h}, form 2), from 0.72 bytes a weight (the file: 0.6875), each value put together from its
 * nibble and fifth bit in the kernel (a shift, an AND and a VPTERNLOGD, as Q6_K's); on AVX2, {@code VPMADDUBSW} and
 * {@code VPMADDWD} ({@code avx2/five_tokens.h}). Only where that machine code runs ({@link #runsHere}); elsewhere Q5_K
 * stays on {@link AffineBlockMatrix}.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of 32 rows, 704-byte blocks of 32 columns: the values in {@code VPDPBUSD}'s
 * lanes as 16 vectors of 64 (16 rows, a row's four columns a 32-bit lane), stored as their low nibbles, two vectors to
 * 64 bytes, and their fifth bits, eight to 64 bytes, in two groups in the order the machine code reads them (see
 * {@link #low}, {@link #high}); then the rows' codes {@code sc} and {@code m}, a byte each; {@code d} and {@code -dmin}
 * per tile, super-block and row as floats.
 */
public final class Q5_KMatrix extends VnniMatrix {
    /** Bytes of a tile's 32-column block: 2 groups of 4 x 64 bytes of low nibbles and 64 of fifth bits, 32 scale and 32 min codes. */
    private static final int BLOCK = 704;
    private static final int SCALES = 640, MINS = 672;
    /** {@code -Dredhare.q5kIntegers=false}: Q5_K weights load as {@link AffineBlockMatrix} even where this runs, for measuring. */
    private static final boolean INTEGERS = Boolean.parseBoolean(System.getProperty("redhare.q5kIntegers", "true"));


    private Q5_KMatrix(int rows, int cols) {
        super(rows, cols, 2, BLOCK, 2 * TR);
    }

    /**
     * Whether Q5_K weights take this class here: where its machine code runs (x86-64 with AVX-512 and VNNI, see
     * {@link NativeKernels#vnniTokens}, or with AVX2 and 8-float vectors, {@link Avx2Kernels#vnniTokens}), unless
     * {@code -Dredhare.q5kIntegers=false}.
     */
    public static boolean runsHere() {
        return runs(INTEGERS) || INTEGERS && Avx2Kernels.vnniAvailable(2);
    }

    /**
     * Over GGML Q5_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of f16 {@code d} and {@code dmin},
     * 12 bytes of packed 6-bit codes (as Q4_K's), 32 bytes of fifth bits and 128 bytes of nibbles; repacked into the tile
     * layout in ranges of tiles over {@link Repacking}'s threads.
     */
    public static Q5_KMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 176, "Q5_K");
        Q5_KMatrix m = new Q5_KMatrix(rows, cols);
        m.repack(blocks);
        return m;
    }

    @Override
    int fileBlock() {
        return 176;
    }

    @Override
    void superBlock(byte[] blk, byte[] tile, int t, int i, int k) {
        final int[] sc = new int[8], mn = new int[8];
        d[(t * nsb + k) * 2 * TR + i] = QuantKernels.half(blk, 0);
        d[(t * nsb + k) * 2 * TR + TR + i] = -QuantKernels.half(blk, 2); // (-dmin) m = -(dmin m) exactly
        Q4_KMatrix.subBlockCodes(blk, sc, mn);
        for (int j = 0; j < 8; j++) {
            final int at = (8 * k + j) * BLOCK;
            tile[at + SCALES + i] = (byte) sc[j];
            tile[at + MINS + i] = (byte) mn[j];
        }
        for (int c = 0; c < 256; c++) { // 64-column chunk q: low nibbles of bytes 48 + 32 q .., fifth bits 2 q and 2 q + 1
            final int q = c / 64, l = c % 32, hi = c % 64 / 32;
            final int v = blk[48 + 32 * q + l] & 0xFF, h = blk[16 + l] & 0xFF;
            final int u = (hi == 0 ? v & 0xF : v >>> 4) | (h >>> (2 * q + hi) & 1) << 4;
            final int at = (8 * k + c / 32) * BLOCK, cc = c % 32;
            tile[at + low(i, cc)] |= (byte) ((u & 0xF) << 4 * (i / 16));
            tile[at + high(i, cc)] |= (byte) ((u >> 4) << fifth(i, cc));
        }
    }

    @Override public DType dtype() { return DType.Q5_K; }

    /** The machine code's integers one at a time: {@code T = sum(u xq)} per block; {@code s = d sc}, {@code o = -dmin m}. */
    @Override
    VnniTokens.Blocks javaBlocks() {
        return javaBlocks;
    }

    private final VnniTokens.Blocks javaBlocks = affineBlocks(this, Q5_KMatrix::value, SCALES, MINS);

    @Override
    void blockRow(byte[] block, int t, int i, int b, float[] dst, int at) {
        affineRow(javaBlocks, Q5_KMatrix::value, block, t, i, b, dst, at);
    }

    /** Row {@code i}'s value at column {@code c} of the block at {@code at} of a tile: Q5_K's or Q4_K's layout. */
    interface Values {
        int at(byte[] tile, int at, int i, int c);
    }

    /**
     * The Java reference's blocks of Q5_K or Q4_K in integers ({@code m}'s {@code d} and {@code -dmin} per tile,
     * super-block and row; a block's codes {@code sc} at {@code scales}, {@code m} at {@code mins}): {@code T = sum(u
     * xq)}, {@code s = d sc}, {@code o = -dmin m}.
     */
    static VnniTokens.Blocks affineBlocks(VnniMatrix m, Values values, int scales, int mins) {
        return new VnniTokens.Blocks() {
            @Override
            public int sum(byte[] tile, int at, int i, int b, short[] xp, int x) {
                int sum = 0;
                for (int c = 0; c < 32; c++) {
                    sum += values.at(tile, at, i, c) * VnniTokens.xq(xp, x, c);
                }
                return sum;
            }

            @Override
            public float scale(byte[] tile, int at, int t, int i, int b) {
                return m.d[(t * m.nsb + b / 8) * 2 * TR + i] * tile[at + scales + i];
            }

            @Override
            public boolean offsets() {
                return true;
            }

            @Override
            public float offset(byte[] tile, int at, int t, int i, int b) {
                return m.d[(t * m.nsb + b / 8) * 2 * TR + TR + i] * tile[at + mins + i];
            }
        };
    }

    /** A block's weights of row {@code i}, {@code u s + o} rounded once (both products exact), as the other classes' rows. */
    static void affineRow(VnniTokens.Blocks blocks, Values values, byte[] block, int t, int i, int b, float[] dst, int at) {
        final float s = blocks.scale(block, 0, t, i, b), o = blocks.offset(block, 0, t, i, b);
        for (int c = 0; c < 32; c++) {
            dst[at + c] = Math.fma((float) values.at(block, 0, i, c), s, o);
        }
    }

    /*
     * Where row i's (of its tile) value at column c (of its 32-column block) lies: step s = c / 4 and half h = i / 16 make
     * it vector v = 2 s + h (16 rows, a row's four columns a 32-bit lane, byte 4 (i % 16) + c % 4), in group g = v / 8
     * (320 bytes from 320 g: four vectors of low nibbles, step 4 g + k's two halves at bits 0..3 and 4..7 of the k-th,
     * then one of fifth bits, vector 8 g + m's at bit m), in the order the machine code reads them.
     */

    /** Byte (from the block's start) of row {@code i}'s low nibble at column {@code c}. */
    static int low(int i, int c) {
        final int s = c / 4;
        return 320 * (s / 4) + 64 * (s % 4) + 4 * (i % 16) + c % 4;
    }

    /** Byte (from the block's start) of row {@code i}'s fifth bit at column {@code c}. */
    static int high(int i, int c) {
        return 320 * (c / 16) + 256 + 4 * (i % 16) + c % 4;
    }

    /** That bit's place in its byte. */
    static int fifth(int i, int c) {
        return (2 * (c / 4) + i / 16) % 8;
    }

    /** Row {@code i}'s 5-bit value at column {@code c} of the block at {@code at}. */
    static int value(byte[] tile, int at, int i, int c) {
        return (tile[at + low(i, c)] >> 4 * (i / 16) & 0xF) | (tile[at + high(i, c)] >> fifth(i, c) & 1) << 4;
    }
}
