package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * GGML Q8_0 weights in integers: {@code W = d * q} with an int8 value {@code q} and an f16 {@code d} per 32 columns of a
 * row, times each token's activations quantized to int8 per 32 columns ({@link NibbleBlocks#quantizeBlock}), as
 * llama.cpp computes this format. Per (row, block) the kernel sums {@code T = sum(q xq)} exactly (at most 32 * 128 * 127
 * = 520192 in size, so exact as a float too), and each (row, token) adds {@code fma(float(T), d * dx, acc)} over the
 * blocks in column order from zero: the same bits alone, in any batch and on any number of threads;
 * {@link #multiplyInJava} computes them the same way.
 *
 * <p>Why: {@link Q8_0Matrix} keeps the activations float and widens each weight (a shift, a conversion and a multiply
 * before its FMA); here AVX512-VNNI's {@code VPDPBUSD} takes 64 byte products an instruction ({@code vnni_tokens.h},
 * form 1), each value stored plus 128 (unsigned, as the instruction wants it) and each sum started at
 * {@code -128 sum(xq)}. On AVX2 CPUs the same layout runs {@link Avx2Kernels#vnniTokens} (each value signed again, its
 * magnitude times the activation with its sign, {@code VPMADDUBSW} and {@code VPMADDWD}), with the same bits. Only
 * where one of these runs ({@link #runsHere}); elsewhere Q8_0 stays on
 * {@link Q8_0Matrix} (results differ there by the activations' rounding, as they already differ by the vector width).
 * `QuickMatrixRates q8_0|q8_0_float` (AMD EPYC Zen 4, one thread): [4864 x 896] 21.2-21.9 -> 71.6-76.1 G weights/s,
 * [151936 x 896] from DRAM 19.0-19.4 -> 28.4-28.7, 512 tokens 47.0-47.5 -> 79.2-81.2; qwen2.5-0.5b Q8_0 decode 37.22 ->
 * 49.60 tok/s and pp512 123.5 -> 196.3, where llama.cpp ran the same file at 41.18 and 143.4 (docs/PERFORMANCE.md,
 * fifty-seventh session). Mean KL against BF16 0.000108 -> 0.000223 ({@code perplexity --kl}).
 *
 * <p><b>Layout (repacked at load).</b> Tiles of {@link VnniTokens#TR} rows (the last padded with zero scales), each a
 * stream of 1088-byte blocks of 32 columns: eight steps of four columns, a step 64 bytes for rows 0..15 and 64 for rows
 * 16..31 (a row's four values in its 32-bit lane, {@code VPDPBUSD}'s), then the 32 rows' f16 scales as the file has
 * them: 1.0625 bytes a weight, the file's.
 */
public final class Q8_0IntMatrix extends VnniMatrix {
    /** Bytes of a tile's 32-column block: 8 steps x 128 value bytes, then 32 f16 scales. */
    private static final int BLOCK = 1088;
    /** Where a block's scales start. */
    private static final int SCALES = 1024;
    /** {@code -Dredhare.q8Integers=false}: Q8_0 weights load as {@link Q8_0Matrix} even where this runs, for measuring. */
    private static final boolean INTEGERS = Boolean.parseBoolean(System.getProperty("redhare.q8Integers", "true"));


    private Q8_0IntMatrix(int rows, int cols) {
        super(rows, cols, 1, BLOCK, 0);
    }

    /**
     * Whether Q8_0 weights take this class here: where its machine code runs (x86-64 with AVX-512 and VNNI, see
     * {@link NativeKernels#vnniTokens}, or with AVX2 and 8-float vectors, {@link Avx2Kernels#vnniTokens}), unless {@code -Dredhare.q8Integers=false}.
     */
    public static boolean runsHere() {
        return runs(INTEGERS) || INTEGERS && Avx2Kernels.vnniAvailable(1);
    }

    /**
     * Over GGML Q8_0 blocks as stored in GGUF: per row {@code cols / 32} blocks of an f16 scale and 32 int8 values;
     * repacked into the tile layout in ranges of tiles over {@link Repacking}'s threads.
     */
    public static Q8_0IntMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 34, "Q8_0");
        Q8_0IntMatrix m = new Q8_0IntMatrix(rows, cols);
        m.repack(blocks);
        return m;
    }

    @Override
    void fill(MemorySegment blocks, int t0, int t1) {
        final byte[] row = new byte[nb * 34];
        final byte[] tile = new byte[nb * BLOCK];
        for (int t = t0; t < t1; t++) {
            java.util.Arrays.fill(tile, (byte) 0);
            for (int i = 0; i < TR; i++) {
                final boolean padding = t * TR + i >= rows; // zero scales, values 0 (stored 128)
                if (!padding) {
                    MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, (long) (t * TR + i) * nb * 34, row, 0, row.length);
                }
                for (int b = 0; b < nb; b++) {
                    if (!padding) {
                        tile[b * BLOCK + SCALES + 2 * i] = row[34 * b];
                        tile[b * BLOCK + SCALES + 2 * i + 1] = row[34 * b + 1];
                    }
                    for (int c = 0; c < 32; c++) {
                        tile[b * BLOCK + at(i, c)] = (byte) ((padding ? 0 : row[34 * b + 2 + c]) + 128);
                    }
                }
            }
            MemorySegment.copy(tile, 0, packed, ValueLayout.JAVA_BYTE, (long) t * nb * BLOCK, tile.length);
        }
    }

    /** Byte (from its block's start) of row {@code i}'s (of its tile) value at column {@code c} of the block. */
    static int at(int i, int c) {
        return 128 * (c / 4) + 64 * (i / 16) + 4 * (i % 16) + c % 4;
    }

    @Override public DType dtype() { return DType.Q8_0; }

    /** The machine code's integers one at a time: {@code T = sum(q xq)} per block, scaled by its f16 {@code d}. */
    @Override
    VnniTokens.Blocks javaBlocks() {
        return JAVA;
    }

    private static final VnniTokens.Blocks JAVA = new VnniTokens.Blocks() {
        @Override
        public int sum(byte[] tile, int at, int i, int b, short[] xp, int x) {
            int sum = 0;
            for (int c = 0; c < 32; c++) {
                sum += ((tile[at + at(i, c)] & 0xFF) - 128) * VnniTokens.xq(xp, x, c);
            }
            return sum;
        }

        @Override
        public float scale(byte[] tile, int at, int t, int i, int b) {
            return Q8_0IntMatrix.scale(tile, at, i);
        }
    };

    /** Row {@code i}'s f16 scale in the block at {@code at}. */
    private static float scale(byte[] tile, int at, int i) {
        return Float.float16ToFloat((short) ((tile[at + SCALES + 2 * i] & 0xFF) | tile[at + SCALES + 2 * i + 1] << 8));
    }

    @Override
    void blockRow(byte[] block, int t, int i, int b, float[] dst, int at) {
        final float d = scale(block, 0, i);
        for (int c = 0; c < 32; c++) {
            dst[at + c] = ((block[at(i, c)] & 0xFF) - 128) * d; // q d, as Q8_0Matrix's rows
        }
    }
}
