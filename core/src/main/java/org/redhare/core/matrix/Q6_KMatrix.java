package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * GGML Q6_K weights in integers: {@code W = d * sc * (u - 32)} with a 6-bit value {@code u}, an int8 scale {@code sc}
 * per 16 columns and an f16 {@code d} per 256-column super-block of each row. Each token's activations are quantized
 * to int8 per 32 columns ({@link NibbleBlocks#quantizeBlock}, as llama.cpp computes this format, though per 256
 * there); per row and 16-column unit the kernel sums {@code T = sum((u - 32) xq)} exactly (at most 65024 in size), per
 * 32-column block {@code sc0 T0 + sc1 T1} exactly (at most 2 * 128 * 65024 = 16646144, below 2^24, so exact as a float
 * too), and each (row, token) adds {@code fma(float(sum), d * dx, acc)} over the blocks in column order from zero. The
 * integer sums are exact in any order, so a token gets the same bits alone, in any batch and on any number of threads;
 * {@link #multiplyInJava} computes them the same way.
 *
 * <p>Why: a third of a Q4_K_M file's weights are Q6_K (the tied LM head of Llama-3.2-1B among them, 262 M of them).
 * {@link Q8_0Matrix#ofGgmlQ6_K} widens them to floats (a byte a value and a float scale per 16 columns, 1.25 bytes a
 * weight), about 19 G weights/s from DRAM on one thread. Here AVX512-VNNI's {@code VPDPBUSD} takes 64 byte products an
 * instruction ({@code vnni_tokens.h}), after putting each value together from its nibble and bit pair (three logic
 * instructions), from 0.83 bytes a weight (the file: 0.82). `QuickMatrixRates q6_k|q6_k_float` (AMD EPYC Zen 4, one
 * thread): [2048 x 2048] 19.9-21.1 -> 66.3-67.5 G weights/s, [128256 x 2048] from DRAM 16.2-17.9 -> 31.0-34.6, 512
 * tokens 49.3 -> 68.4; llama-3.2-1b Q4_K_M decode 20.53 -> 28.03 tok/s, where llama.cpp decoded the same file at 26.80
 * (docs/PERFORMANCE.md, fifty-seventh session). The int8 activations cost: mean KL against BF16 0.00634 -> 0.00699 on
 * a synthetic Llama-3.2-1B's Q6_K file ({@code perplexity --kl}).
 *
 * <p>On AVX2 CPUs the same layout runs {@link Avx2Kernels#vnniTokens} ({@code VPMADDUBSW} and {@code VPMADDWD} where
 * VNNI has {@code VPDPBUSD}), with the same bits: [128256 x 2048] from DRAM (the JVM limited to AVX2 on the AMD EPYC
 * Zen 4 host, one thread) 9.5 -> 16.2 tok/s for Llama-3.2-1B's Q6_K file (docs/PERFORMANCE.md, sixty-fifth session).
 *
 * <p>Only where one of these runs ({@link #runsHere}): the Vector API has no widening byte multiply-add, and the
 * Java integer kernels of an earlier attempt (through {@link NibbleBlocks}' bytes, folding every 8 columns) ran slower
 * than the float path, so elsewhere Q6_K stays on {@link Q8_0Matrix} (results differ there by the activations'
 * rounding, as they already differ by the vector width). {@link #multiplyInJava} is the reference the tests hold the
 * machine code to.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of {@link #TR} rows (the last padded with zero scales), each a stream of
 * 832-byte blocks of 32 columns, 6 bits a value as the file holds them: the values as 16 vectors of 64 bytes (16 rows, a
 * row's four columns in a 32-bit lane, {@code VPDPBUSD}'s), their low nibbles two vectors to 64 bytes and their high
 * bit pairs four to 64 bytes, in groups of four vectors in the order the machine code reads them (see {@link #low},
 * {@link #high}), then each 16-column unit's scales, a byte a row.
 * {@code d} per tile, super-block and row as floats. 0.8125 bytes a weight, 0.83 with {@code d}.
 */
public final class Q6_KMatrix extends VnniMatrix {
    /** Rows per tile. */
    /** Bytes of a tile's 32-column block: 4 groups of 2 x 64 bytes of low nibbles and 64 of high bit pairs, 2 x 32 scale bytes. */
    private static final int BLOCK = 832;
    /** Where a block's scales start (a byte a row, per 16-column unit). */
    private static final int SCALES = 768;
    /** {@code -Dredhare.q6kIntegers=false}: Q6_K files load as {@link Q8_0Matrix} even where this runs, for measuring. */
    private static final boolean INTEGERS = Boolean.parseBoolean(System.getProperty("redhare.q6kIntegers", "true"));


    private Q6_KMatrix(int rows, int cols) {
        super(rows, cols, 0, BLOCK, TR);
    }

    /**
     * Whether Q6_K weights take this class here: where its machine code runs (x86-64 with AVX-512 and VNNI, see
     * {@link NativeKernels#vnniTokens}, or with AVX2 and 8-float vectors, {@link Avx2Kernels#vnniTokens}), unless {@code -Dredhare.q6kIntegers=false}.
     */
    public static boolean runsHere() {
        return runs(INTEGERS) || INTEGERS && Avx2Kernels.vnniAvailable(0);
    }

    /**
     * Over GGML Q6_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of 128 bytes of low nibbles, 64
     * bytes of high 2-bit pairs, 16 int8 sub-block scales and an f16 {@code d}; repacked into the tile layout in ranges
     * of tiles over {@link Repacking}'s threads.
     */
    public static Q6_KMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 210, "Q6_K");
        Q6_KMatrix m = new Q6_KMatrix(rows, cols);
        m.repack(blocks);
        return m;
    }

    @Override
    int fileBlock() {
        return 210;
    }

    @Override
    void superBlock(byte[] blk, byte[] tile, int t, int i, int k) {
        d[(t * nsb + k) * TR + i] = QuantKernels.half(blk, 208);
        for (int c = 0; c < 256; c++) { // value 128 h + 32 q + l: a nibble of byte 64 h + 32 (q % 2) + l, bits 2 q of byte 128 + 32 h + l
            final int h = c / 128, q = c % 128 / 32, l = c % 32;
            final int lo = blk[64 * h + 32 * (q % 2) + l] & 0xFF, hi = (blk[128 + 32 * h + l] & 0xFF) >>> 2 * q & 3;
            final int u = (q < 2 ? lo & 0xF : lo >>> 4) | hi << 4;
            final int at = (8 * k + c / 32) * BLOCK, cc = c % 32;
            tile[at + low(i, cc)] |= (byte) ((u & 0xF) << lowShift(i));
            tile[at + high(i, cc)] |= (byte) ((u >> 4) << highShift(i, cc));
        }
        for (int m = 0; m < 16; m++) {
            tile[(8 * k + m / 2) * BLOCK + SCALES + 32 * (m % 2) + i] = blk[192 + m];
        }
    }

    @Override public DType dtype() { return DType.Q6_K; }

    /** The machine code's integers one at a time: per 16-column unit {@code T = sum((u - 32) xq)}, then {@code sc0 T0 + sc1 T1}. */
    @Override
    VnniTokens.Blocks javaBlocks() {
        return javaBlocks;
    }

    private final VnniTokens.Blocks javaBlocks = new VnniTokens.Blocks() {
        @Override
        public int sum(byte[] tile, int at, int i, int b, short[] xp, int x) {
            int sum = 0;
            for (int j = 0; j < 2; j++) {
                int units = 0;
                for (int c = 0; c < 16; c++) {
                    units += (value(tile, at, i, 16 * j + c) - 32) * VnniTokens.xq(xp, x, 16 * j + c);
                }
                sum += tile[at + SCALES + 32 * j + i] * units;
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
        for (int cc = 0; cc < 32; cc++) {
            final int sc = block[SCALES + 32 * (cc / 16) + i];
            dst[at + cc] = d[(t * nsb + b / 8) * TR + i] * sc * (value(block, 0, i, cc) - 32); // as Q8_0Matrix.ofGgmlQ6_K's rows
        }
    }

    /*
     * Where row i's (of its tile) value at column cc (of its 32-column block) lies: it belongs to unit j = cc / 16, step
     * s = cc % 16 / 4, half h = i / 16, at byte 4 (i % 16) + cc % 4 of its 64-byte vector V(4 g + m), g = 2 j + s / 2,
     * m = 2 (s % 2) + h. Group g's 192 bytes start at 192 g: two vectors of low nibbles (V(4 g + m) at bits 4 (m % 2) of
     * the (m / 2)-th) and one of high bit pairs (at bits 2 m), in the order the machine code reads them (vnni_tokens.h).
     */

    /** Byte (from the block's start) of row {@code i}'s low nibble at column {@code cc}. */
    private static int low(int i, int cc) {
        final int j = cc / 16, s = cc % 16 / 4;
        return 192 * (2 * j + s / 2) + 64 * (s % 2) + 4 * (i % 16) + cc % 4;
    }

    private static int lowShift(int i) {
        return 4 * (i / 16);
    }

    /** Byte (from the block's start) of row {@code i}'s two high bits at column {@code cc}. */
    private static int high(int i, int cc) {
        final int j = cc / 16, s = cc % 16 / 4;
        return 192 * (2 * j + s / 2) + 128 + 4 * (i % 16) + cc % 4;
    }

    private static int highShift(int i, int cc) {
        return 2 * (2 * (cc % 16 / 4 % 2) + i / 16);
    }

    /** Row {@code i}'s 6-bit value at column {@code cc} of the block at {@code at}. */
    private static int value(byte[] tile, int at, int i, int cc) {
        return (tile[at + low(i, cc)] >> lowShift(i) & 0xF) | (tile[at + high(i, cc)] >> highShift(i, cc) & 3) << 4;
    }
}
