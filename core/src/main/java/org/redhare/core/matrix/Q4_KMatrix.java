package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * GGML Q4_K weights: super-blocks of 256 columns hold eight sub-blocks of 32, each with a 6-bit scale and a
 * 6-bit min under the super-block's f16 {@code d} and {@code dmin}; {@code W = q * (d * sc) - dmin * m} with
 * 4-bit {@code q}. The codes stay bytes and the super-block factors floats; the kernels form {@code s = d * sc} and
 * {@code o = -(dmin * m)} as they fold each block (both exact: an 11-bit significand times a 6-bit integer). Q4_1 ({@code W = q * d + m} per block of 32) is the
 * same form. The kernels multiply integers: each token's activations are quantized to int8 per 32 columns and the
 * products summed in 16 bits ({@link NibbleBlocks}); llama.cpp quantizes them per 256 for this format. Where the CPU has
 * AVX512-VNNI, Q4_K loads as {@link Q4_KIntMatrix} and Q4_1 as {@link BlockIntMatrix} instead.
 */
public final class Q4_KMatrix implements NibbleMatrix {
    private final NibbleBlocks blocks;
    private final DType dtype; // what the file stored (Q4_K or Q4_1), for reports

    /**
     * @param q       {@code [rows, cols]} 4-bit values 0..15, one per byte, row-major
     * @param scales  {@code [rows, cols / 32]} sub-block scales
     * @param offsets {@code [rows, cols / 32]} sub-block offsets added to {@code q * scale}
     */
    public Q4_KMatrix(MemorySegment q, float[] scales, float[] offsets, int rows, int cols) {
        this(q, scales, offsets, rows, cols, DType.Q4_K);
    }

    /** As {@link #Q4_KMatrix(MemorySegment, float[], float[], int, int)}, reporting {@code dtype} as the stored type. */
    public Q4_KMatrix(MemorySegment q, float[] scales, float[] offsets, int rows, int cols, DType dtype) {
        this(new NibbleBlocks(q, scales, offsets, rows, cols, dtype.toString()), dtype);
    }

    private Q4_KMatrix(NibbleBlocks blocks, DType dtype) {
        this.dtype = dtype;
        this.blocks = blocks;
    }

    /**
     * Over GGML Q4_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of f16 {@code d}, f16
     * {@code dmin}, 12 bytes of packed 6-bit scales and mins, and 128 bytes of nibbles (each 64 values: 32
     * bytes, low nibbles first). The factors stay factored as the file has them: a byte per sub-block code and a
     * float per super-block factor ({@link NibbleBlocks}' third constructor).
     */
    public static Q4_KMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 144, "Q4_K");
        int sb = cols / 256;
        float[] superD = new float[rows * sb];
        float[] superMin = new float[rows * sb];
        byte[] scaleCodes = new byte[rows * (cols / 32)];
        byte[] minCodes = new byte[rows * (cols / 32)];
        MemorySegment q = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[144];
            int[] sc = new int[8];
            int[] m = new int[8];
            byte[] out = new byte[256]; // a block's values through an array: per-byte segment stores made loading slow
            for (long b = (long) r0 * sb; b < (long) r1 * sb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 144, blk, 0, 144);
                superD[(int) b] = QuantKernels.half(blk, 0);
                superMin[(int) b] = QuantKernels.half(blk, 2);
                subBlockCodes(blk, sc, m);
                for (int j = 0; j < 8; j++) {
                    scaleCodes[(int) (b * 8) + j] = (byte) sc[j];
                    minCodes[(int) (b * 8) + j] = (byte) m[j];
                }
                for (int chunk = 0; chunk < 4; chunk++) {
                    for (int l = 0; l < 32; l++) {
                        int v = blk[16 + chunk * 32 + l] & 0xFF;
                        out[chunk * 64 + l] = (byte) (v & 0xF);
                        out[chunk * 64 + 32 + l] = (byte) (v >>> 4);
                    }
                }
                MemorySegment.copy(out, 0, q, ValueLayout.JAVA_BYTE, b * 256, 256);
            }
        });
        return new Q4_KMatrix(new NibbleBlocks(q, superD, superMin, scaleCodes, minCodes, rows, cols, "Q4_K"), DType.Q4_K);
    }

    /**
     * Over GGML Q4_1 blocks as stored in GGUF: each row is {@code cols / 32} blocks of an f16 scale {@code d}, an
     * f16 min {@code m} and 16 bytes of nibbles (low nibbles are values 0..15, high nibbles 16..31); {@code W = q * d
     * + m}, the form of a Q4_K sub-block, so the block's scale and offset are {@code d} and {@code m}.
     */
    public static Q4_KMatrix ofGgmlQ4_1(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 20, "Q4_1");
        int nb = cols / 32;
        float[] scales = new float[rows * nb];
        float[] offsets = new float[rows * nb];
        MemorySegment q = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[20];
            byte[] out = new byte[32];
            for (long b = (long) r0 * nb; b < (long) r1 * nb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 20, blk, 0, 20);
                scales[(int) b] = QuantKernels.half(blk, 0);
                offsets[(int) b] = QuantKernels.half(blk, 2);
                for (int j = 0; j < 16; j++) {
                    int v = blk[4 + j] & 0xFF;
                    out[j] = (byte) (v & 0xF);
                    out[j + 16] = (byte) (v >>> 4);
                }
                MemorySegment.copy(out, 0, q, ValueLayout.JAVA_BYTE, b * 32, 32);
            }
        });
        return new Q4_KMatrix(q, scales, offsets, rows, cols, DType.Q4_1);
    }

    /**
     * The eight sub-block factors of a Q4_K or Q5_K super-block {@code blk} (f16 {@code d} and {@code dmin} already
     * read): 6-bit scales and mins packed in bytes 4..15 (ggml's {@code get_scale_min_k4}: sub-blocks 0..3 in the low
     * six bits of bytes 4..7 and 8..11, 4..7 in the nibbles of bytes 12..15 with their top two bits in the high bits
     * of bytes 4..11), as {@code scales[at + j] = d * sc} and {@code offsets[at + j] = -(dmin * m)}.
     */
    static void subBlockFactors(byte[] blk, float d, float dmin, float[] scales, float[] offsets, int at) {
        int[] sc = new int[8];
        int[] m = new int[8];
        subBlockCodes(blk, sc, m);
        for (int j = 0; j < 8; j++) {
            scales[at + j] = d * sc[j];
            offsets[at + j] = -(dmin * m[j]);
        }
    }

    /** The eight 6-bit scale and min codes of a Q4_K or Q5_K super-block {@code blk}, unpacked as {@link #subBlockFactors} describes. */
    static void subBlockCodes(byte[] blk, int[] sc, int[] m) {
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                sc[j] = blk[4 + j] & 63;
                m[j] = blk[4 + j + 4] & 63;
            } else {
                sc[j] = (blk[4 + j + 4] & 0xF) | ((blk[4 + j - 4] & 0xFF) >>> 6) << 4;
                m[j] = ((blk[4 + j + 4] & 0xFF) >>> 4) | ((blk[4 + j] & 0xFF) >>> 6) << 4;
            }
        }
    }

    @Override public int rows() { return blocks.rows(); }
    @Override public int cols() { return blocks.cols(); }
    @Override public DType dtype() { return dtype; }
    @Override public long bytes() { return blocks.bytes(); }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        blocks.multiply(pool, x, n, y);
    }

    @Override
    public NibbleBlocks blocks() {
        return blocks;
    }

    @Override
    public void row(int r, float[] dst, int off) {
        blocks.row(r, dst, off);
    }
}
