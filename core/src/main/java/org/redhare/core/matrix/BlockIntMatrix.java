package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.redhare.core.DType;

/**
 * GGML's 32-value block types Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL in integers: {@code W = d (u - center)} (Q4_0: center
 * 8, Q5_0: 16), {@code W = d u + m} (Q4_1, Q5_1) or {@code W = d level(u)} (IQ4_NL: ggml's 16 int8 levels), a 4- or
 * 5-bit value {@code u} and f16 {@code d} (and {@code m}) per 32 columns of a row. Each token's activations are quantized to int8 per 32 columns ({@link NibbleBlocks#quantizeBlock});
 * per (row, block) the kernel sums {@code T = sum(w(u) xq)} exactly ({@code w(u) = u - center} or the level; at most
 * 32 * 127 * 127 = 516128 in size), and
 * each (row, token) adds {@code fma(float(T), d dx, acc)} and, with an offset, {@code fma(sum(xq), m dx, acc)}, over
 * the blocks in column order from zero: the same bits alone, in any batch and on any number of threads, and in
 * {@link #multiplyInJava}.
 *
 * <p>Why: {@link Q4_0Matrix}, {@link Q4_KMatrix} (for Q4_1) and {@link Q5_0Matrix} sum two products a 16-bit lane with
 * {@code VPMADDUBSW} and add the lanes in a second instruction, Q5_0 from a byte a value (1.125 bytes a weight where the
 * file has 0.6875), and Q5_1 and IQ4_NL run on the float kernels ({@link AffineBlockMatrix}, {@link Q8_0Matrix}: 1.25
 * and 1.125 bytes a weight). Here
 * AVX512-VNNI's {@code VPDPBUSD} multiplies and adds 64 products an instruction into 32-bit lanes ({@code vnni_tokens.h},
 * forms 4 to 8), from the file's own size: the values rearranged into the instruction's lanes as {@link Q4_KIntMatrix}'s
 * (4 bits) or {@link Q5_KMatrix}'s (5 bits), each block's f16 factors after its values; IQ4_NL's nibbles become their
 * levels plus 128 in the kernel, a table lookup ({@code VPSHUFB}) each. Q5_0 is half of a Q4_K_M file
 * of Qwen2.5-0.5B (its 896-wide rows are not whole K-quant super-blocks, so llama.cpp stores them so), Q5_1 most of
 * its Q5_K_M file. On AVX2, Q5_1 runs {@code avx2/five_tokens.h} ({@code VPMADDUBSW} and {@code VPMADDWD}). Only where that
 * machine code runs ({@link #runsHere}); elsewhere these types keep their classes.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of 32 rows; a tile's 32-column block: the values (4 bits: 512 bytes, 5
 * bits: 640), then the rows' f16 {@code d} (64 bytes) and, with offsets, their f16 {@code m} (64 bytes).
 */
public final class BlockIntMatrix extends VnniMatrix {
    /** {@code -Dredhare.blockIntegers=false}: these types load as their former classes even where this runs, for measuring. */
    private static final boolean INTEGERS = Boolean.parseBoolean(System.getProperty("redhare.blockIntegers", "true"));

    private final DType type;
    private final boolean five;    // 5-bit values (Q5_0, Q5_1)
    private final boolean offsets; // W = d u + m (Q4_1, Q5_1)
    private final int center;      // 8 (Q4_0), 16 (Q5_0), 0
    private final boolean levels;  // IQ4_NL: a nibble stands for its level
    private final int scales;      // where a block's f16 d start: after its values
    private final int fileBlock;   // bytes of a GGML block in the file

    private BlockIntMatrix(DType type, int rows, int cols) {
        super(rows, cols, form(type), blockBytes(type), 0);
        this.type = type;
        this.five = type == DType.Q5_0 || type == DType.Q5_1;
        this.offsets = type == DType.Q4_1 || type == DType.Q5_1;
        this.center = type == DType.Q4_0 ? 8 : type == DType.Q5_0 ? 16 : 0;
        this.levels = type == DType.IQ4_NL;
        this.scales = five ? 640 : 512;
        this.fileBlock = switch (type) {
            case Q4_0, IQ4_NL -> 18;
            case Q4_1 -> 20;
            case Q5_0 -> 22;
            default -> 24;
        };
    }

    private static int form(DType type) {
        return switch (type) {
            case Q4_0 -> 4;
            case Q4_1 -> 5;
            case Q5_0 -> 6;
            case Q5_1 -> 7;
            case IQ4_NL -> 8;
            default -> throw new IllegalArgumentException("no integer blocks for " + type);
        };
    }

    private static int blockBytes(DType type) {
        return switch (type) {
            case Q4_0, IQ4_NL -> 576;
            case Q4_1 -> 640;
            case Q5_0 -> 704;
            default -> 768;
        };
    }

    /**
     * Whether {@code type}'s weights (Q4_0, Q4_1, Q5_0, Q5_1 or IQ4_NL) take this class here: where its machine code runs
     * (x86-64 with AVX-512 and VNNI, see {@link NativeKernels#vnniTokens}; Q5_1 also with AVX2 and 8-float vectors, {@link
     * Avx2Kernels#vnniTokens}, where Q4_0, Q4_1 and Q5_0 take {@link NibbleBlocks}' kernel), unless {@code
     * -Dredhare.blockIntegers=false}.
     */
    public static boolean runsHere(DType type) {
        return runs(INTEGERS) || INTEGERS && Avx2Kernels.vnniAvailable(form(type));
    }

    /**
     * Over GGML blocks of {@code type} (Q4_0, Q4_1, Q5_0, Q5_1 or IQ4_NL) as stored in GGUF: per row {@code cols / 32} blocks of
     * an f16 {@code d}, (Q4_1, Q5_1) an f16 {@code m}, (Q5_0, Q5_1) 32 fifth bits, and 16 bytes of nibbles (low nibbles
     * values 0..15, high 16..31); repacked into the tile layout in ranges of tiles over {@link Repacking}'s threads.
     */
    public static BlockIntMatrix ofGgml(DType type, MemorySegment blocks, int rows, int cols) {
        BlockIntMatrix m = new BlockIntMatrix(type, rows, cols);
        QuantKernels.checkGgml(blocks, rows, cols, 32, m.fileBlock, type.toString());
        m.repack(blocks);
        return m;
    }

    @Override
    void fill(MemorySegment blocks, int t0, int t1) {
        final int fb = fileBlock, qs = fb - 16, block = scales + (offsets ? 128 : 64);
        final byte[] row = new byte[nb * fb];
        final byte[] tile = new byte[nb * block];
        for (int t = t0; t < t1; t++) {
            java.util.Arrays.fill(tile, (byte) 0); // rows past the matrix: zero factors
            for (int i = 0; i < TR && t * TR + i < rows; i++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, (long) (t * TR + i) * nb * fb, row, 0, row.length);
                for (int b = 0; b < nb; b++) {
                    final int src = b * fb, at = b * block;
                    tile[at + scales + 2 * i] = row[src];
                    tile[at + scales + 2 * i + 1] = row[src + 1];
                    if (offsets) {
                        tile[at + scales + 64 + 2 * i] = row[src + 2];
                        tile[at + scales + 64 + 2 * i + 1] = row[src + 3];
                    }
                    final int qh = five ? (int) QuantKernels.int32(row, src + qs - 4) : 0;
                    for (int c = 0; c < 32; c++) {
                        final int v = row[src + qs + c % 16] & 0xFF;
                        final int u = (c < 16 ? v & 0xF : v >>> 4) | (qh >>> c & 1) << 4;
                        if (five) {
                            tile[at + Q5_KMatrix.low(i, c)] |= (byte) ((u & 0xF) << 4 * (i / 16));
                            tile[at + Q5_KMatrix.high(i, c)] |= (byte) ((u >> 4) << Q5_KMatrix.fifth(i, c));
                        } else {
                            tile[at + Q4_KIntMatrix.low(i, c)] |= (byte) (u << 4 * (i / 16));
                        }
                    }
                }
            }
            MemorySegment.copy(tile, 0, packed, ValueLayout.JAVA_BYTE, (long) t * nb * block, tile.length);
        }
    }

    @Override public DType dtype() { return type; }

    /** The machine code's integers one at a time: {@code T = sum(w(u) xq)} per block; its f16 {@code d} and {@code m}. */
    @Override
    VnniTokens.Blocks javaBlocks() {
        return javaBlocks;
    }

    private final VnniTokens.Blocks javaBlocks = new VnniTokens.Blocks() {
        @Override
        public int sum(byte[] tile, int at, int i, int b, short[] xp, int x) {
            int sum = 0;
            for (int c = 0; c < 32; c++) {
                sum += weight(value(tile, at, i, c)) * VnniTokens.xq(xp, x, c);
            }
            return sum;
        }

        @Override
        public float scale(byte[] tile, int at, int t, int i, int b) {
            return half(tile, at + scales + 2 * i);
        }

        @Override
        public boolean offsets() {
            return offsets;
        }

        @Override
        public float offset(byte[] tile, int at, int t, int i, int b) {
            return half(tile, at + scales + 64 + 2 * i);
        }
    };

    private static float half(byte[] tile, int at) {
        return Float.float16ToFloat((short) ((tile[at] & 0xFF) | tile[at + 1] << 8));
    }

    /** What a value {@code u} stands for: {@code u - center}, or its level. */
    private int weight(int u) {
        return levels ? Q8_0Matrix.IQ4_LEVELS[u] : u - center;
    }

    private int value(byte[] tile, int at, int i, int c) {
        return five ? Q5_KMatrix.value(tile, at, i, c) : Q4_KIntMatrix.value(tile, at, i, c);
    }

    @Override
    void blockRow(byte[] bytes, int t, int i, int b, float[] dst, int at) {
        final float d = javaBlocks.scale(bytes, 0, t, i, b), m = offsets ? javaBlocks.offset(bytes, 0, t, i, b) : 0f;
        for (int c = 0; c < 32; c++) { // w(u) d exactly, or u d + m rounded once, as the other classes' rows
            dst[at + c] = offsets ? Math.fma((float) value(bytes, 0, i, c), d, m) : weight(value(bytes, 0, i, c)) * d;
        }
    }
}
