package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.DType;

/**
 * GGML IQ4_XS weights in integers: {@code W = d (ls - 32) level(u)}, ggml's 16 int8 levels picked by a 4-bit {@code u}, a
 * 6-bit {@code ls} per 32 columns and an f16 {@code d} per 256-column super-block of each row. Each token's activations
 * quantized to int8 per 32 columns ({@link NibbleBlocks#quantizeBlock}); per (row, block) the exact sum {@code T =
 * sum(level(u) xq)} (at most 32 * 127 * 127 = 516128 in size), per (row, token) {@code fma(float(T), (d sc) dx, acc)}
 * with {@code sc = ls - 32} over the blocks in column order from zero ({@code d sc} exact): the same bits alone, in any
 * batch, on any number of threads, and in {@link #multiplyInJava}.
 *
 * <p>Why: {@link Q8_0Matrix#ofGgmlIQ4_XS} widens each level to an int8 code with a float scale per 32 columns (1.125
 * bytes a weight where the file has 0.53) and multiplies floats; here the nibbles stay nibbles, rearranged into
 * AVX512-VNNI's {@code VPDPBUSD} lanes as {@link Q4_KIntMatrix}'s, each looked up as its level plus 128 in the kernel
 * ({@code VPSHUFB}) and multiplied by the int8 activations 64 products an instruction ({@code vnni_tokens.h}, form 9).
 * Only where that machine code runs ({@link #runsHere}); elsewhere IQ4_XS stays on {@link Q8_0Matrix}.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of 32 rows, 544-byte blocks of 32 columns: the nibbles as {@link
 * Q4_KIntMatrix}'s (512 bytes), then the rows' {@code ls - 32} as signed bytes; {@code d} per tile, super-block and row
 * as a float.
 */
public final class IQ4_XSIntMatrix extends VnniMatrix {
    /** Bytes of a tile's 32-column block: 8 steps of 64 bytes of nibbles, then 32 scale codes. */
    private static final int BLOCK = 544;
    private static final int SCALES = 512;
    /** {@code -Dredhare.iq4xsIntegers=false}: IQ4_XS weights load as {@link Q8_0Matrix} even where this runs, for measuring. */
    private static final boolean INTEGERS = Boolean.parseBoolean(System.getProperty("redhare.iq4xsIntegers", "true"));

    private IQ4_XSIntMatrix(int rows, int cols) {
        super(rows, cols, 9, BLOCK, TR);
    }

    /**
     * Whether IQ4_XS weights take this class here: where its machine code runs (x86-64 with AVX-512 and VNNI, see
     * {@link NativeKernels#vnniTokens}, or with AVX2 and 8-float vectors, {@link Avx2Kernels#vnniTokens}), unless
     * {@code -Dredhare.iq4xsIntegers=false}.
     */
    public static boolean runsHere() {
        return runs(INTEGERS) || INTEGERS && Avx2Kernels.vnniAvailable(9);
    }

    /**
     * Over GGML IQ4_XS super-blocks as stored in GGUF: per row {@code cols / 256} blocks of an f16 {@code d}, 16 bits
     * {@code scales_h} and 4 bytes {@code scales_l} (sub-block {@code j}'s {@code ls}: nibble {@code j % 2} of
     * {@code scales_l[j / 2]} with bits {@code 2j, 2j + 1} of {@code scales_h} above it) and 128 bytes of nibbles (16 a
     * sub-block, low nibbles first); repacked into the tile layout in ranges of tiles over {@link Repacking}'s threads.
     */
    public static IQ4_XSIntMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 136, "IQ4_XS");
        IQ4_XSIntMatrix m = new IQ4_XSIntMatrix(rows, cols);
        m.repack(blocks);
        return m;
    }

    @Override
    int fileBlock() {
        return 136;
    }

    @Override
    void superBlock(byte[] blk, byte[] tile, int t, int i, int k) {
        d[(t * nsb + k) * TR + i] = QuantKernels.half(blk, 0);
        final int high = (blk[2] & 0xFF) | (blk[3] & 0xFF) << 8;
        for (int j = 0; j < 8; j++) {
            final int at = (8 * k + j) * BLOCK;
            final int ls = ((blk[4 + j / 2] & 0xFF) >>> 4 * (j % 2) & 0xF) | (high >>> 2 * j & 3) << 4;
            tile[at + SCALES + i] = (byte) (ls - 32);
            for (int c = 0; c < 32; c++) {
                final int v = blk[8 + 16 * j + c % 16] & 0xFF;
                final int u = c < 16 ? v & 0xF : v >>> 4;
                tile[at + Q4_KIntMatrix.low(i, c)] |= (byte) (u << 4 * (i / 16));
            }
        }
    }

    @Override public DType dtype() { return DType.IQ4_XS; }

    /** The machine code's integers one at a time: {@code T = sum(level(u) xq)} per block; {@code s = d sc}. */
    @Override
    VnniTokens.Blocks javaBlocks() {
        return javaBlocks;
    }

    private final VnniTokens.Blocks javaBlocks = new VnniTokens.Blocks() {
        @Override
        public int sum(byte[] tile, int at, int i, int b, short[] xp, int x) {
            int sum = 0;
            for (int c = 0; c < 32; c++) {
                sum += Q8_0Matrix.IQ4_LEVELS[Q4_KIntMatrix.value(tile, at, i, c)] * VnniTokens.xq(xp, x, c);
            }
            return sum;
        }

        @Override
        public float scale(byte[] tile, int at, int t, int i, int b) {
            return d[(t * nsb + b / 8) * TR + i] * tile[at + SCALES + i];
        }
    };

    @Override
    void blockRow(byte[] block, int t, int i, int b, float[] dst, int at) {
        final float s = javaBlocks.scale(block, 0, t, i, b);
        for (int c = 0; c < 32; c++) { // level s, as Q8_0Matrix's rows: d (ls - 32) exact, times the level rounded once
            dst[at + c] = Q8_0Matrix.IQ4_LEVELS[Q4_KIntMatrix.value(block, 0, i, c)] * s;
        }
    }
}
