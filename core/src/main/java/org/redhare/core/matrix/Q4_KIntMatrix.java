package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.DType;

/**
 * GGML Q4_K weights in integers (the bulk of a Q4_K_M file): {@code W = d sc u - dmin m} with a 4-bit value {@code u},
 * 6-bit codes {@code sc} and {@code m} per 32 columns and f16 {@code d}, {@code dmin} per 256-column super-block of each
 * row. As {@link Q5_KMatrix}, with one bit fewer: each token's activations quantized to int8 per 32 columns
 * ({@link NibbleBlocks#quantizeBlock}); per (row, block) the exact sum {@code T = sum(u xq)} (at most 32 * 15 * 127 =
 * 60960 in size); per (row, token) {@code fma(float(T), (d sc) dx, acc)} and {@code fma(sum(xq), (-dmin m) dx, acc)}
 * over the blocks in column order from zero (both products of factors exact): the same bits alone, in any batch, on any
 * number of threads, and in {@link #multiplyInJava}.
 *
 * <p>Why, beside {@link Q4_KMatrix}: that kernel ({@code nibble_tokens.c}) sums two products a 16-bit lane with
 * {@code VPMADDUBSW} and adds the lanes in a second instruction, and reads each block's codes from an array of their
 * own (a fifth stream beside a quad's four); here AVX512-VNNI's {@code VPDPBUSD} multiplies and adds 64 products in one
 * instruction into 32-bit lanes ({@code vnni_tokens.h}, form 3), and the codes follow each block's values, in the order
 * the machine code reads them. Only where that machine code runs ({@link #runsHere}); elsewhere Q4_K stays on
 * {@link Q4_KMatrix}.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of 32 rows, 576-byte blocks of 32 columns: step {@code s} (columns
 * {@code 4 s .. 4 s + 3}) at {@code 64 s}, rows 0..15 in the low nibbles and 16..31 in the high ones, a row's four
 * columns in its 32-bit lane ({@link #low}); then the rows' codes {@code sc} at 512 and {@code m} at 544, a byte each;
 * {@code d} and {@code -dmin} per tile, super-block and row as floats (as {@link Q5_KMatrix}'s).
 */
public final class Q4_KIntMatrix extends VnniMatrix {
    /** Bytes of a tile's 32-column block: 8 steps of 64 bytes of nibbles, 32 scale and 32 min codes. */
    private static final int BLOCK = 576;
    private static final int SCALES = 512, MINS = 544;
    /** {@code -Dredhare.q4kIntegers=false}: Q4_K weights load as {@link Q4_KMatrix} even where this runs, for measuring. */
    private static final boolean INTEGERS = Boolean.parseBoolean(System.getProperty("redhare.q4kIntegers", "true"));

    private Q4_KIntMatrix(int rows, int cols) {
        super(rows, cols, 3, BLOCK, 2 * TR);
    }

    /**
     * Whether Q4_K weights take this class here: where its machine code runs (x86-64 with AVX-512 and VNNI, see
     * {@link NativeKernels#vnniTokens}), unless {@code -Dredhare.q4kIntegers=false}.
     */
    public static boolean runsHere() {
        return runs(INTEGERS);
    }

    /**
     * Over GGML Q4_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of f16 {@code d} and {@code dmin},
     * 12 bytes of packed 6-bit codes and 128 bytes of nibbles (each 64 columns: 32 bytes, low nibbles first); repacked
     * into the tile layout in ranges of tiles over {@link Repacking}'s threads.
     */
    public static Q4_KIntMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 144, "Q4_K");
        Q4_KIntMatrix m = new Q4_KIntMatrix(rows, cols);
        m.repack(blocks);
        return m;
    }

    @Override
    int fileBlock() {
        return 144;
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
        for (int c = 0; c < 256; c++) { // 64-column chunk q: the low nibbles of bytes 16 + 32 q .., then their high ones
            final int v = blk[16 + 32 * (c / 64) + c % 32] & 0xFF;
            final int u = c % 64 < 32 ? v & 0xF : v >>> 4;
            tile[(8 * k + c / 32) * BLOCK + low(i, c % 32)] |= (byte) (u << 4 * (i / 16));
        }
    }

    @Override public DType dtype() { return DType.Q4_K; }

    /** The machine code's integers one at a time, as Q5_K's ({@link Q5_KMatrix#affineBlocks}). */
    @Override
    VnniTokens.Blocks javaBlocks() {
        return javaBlocks;
    }

    private final VnniTokens.Blocks javaBlocks = Q5_KMatrix.affineBlocks(this, Q4_KIntMatrix::value, SCALES, MINS);

    @Override
    void blockRow(byte[] block, int t, int i, int b, float[] dst, int at) {
        Q5_KMatrix.affineRow(javaBlocks, Q4_KIntMatrix::value, block, t, i, b, dst, at);
    }

    /**
     * Byte (from the block's start) of row {@code i}'s (of its tile) value at column {@code c} (of its 32-column block):
     * step {@code c / 4}'s 64 bytes, the row's 32-bit lane {@code i % 16}, byte {@code c % 4}; its nibble {@code i / 16}.
     */
    static int low(int i, int c) {
        return 64 * (c / 4) + 4 * (i % 16) + c % 4;
    }

    /** Row {@code i}'s 4-bit value at column {@code c} of the block at {@code at}. */
    static int value(byte[] tile, int at, int i, int c) {
        return tile[at + low(i, c)] >> 4 * (i / 16) & 0xF;
    }
}
