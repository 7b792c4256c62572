package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * GGML Q5_0 weights: blocks of 32 columns of a row share an f16 scale {@code d}; {@code W = (q - 16) * d} with 5-bit
 * {@code q}. The values are kept a byte each and the kernels multiply integers: each token's activations are
 * quantized to int8 per 32 columns, and the products summed in 16 bits 16 columns at a time ({@link NibbleBlocks}).
 * llama.cpp writes Q5_0 where a Q4_K_M file's rows are not a multiple of 256 long (most of Qwen2.5-0.5B's). Where the
 * CPU has AVX512-VNNI, Q5_0 loads as {@link BlockIntMatrix} instead, at the file's 5 bits a value.
 */
public final class Q5_0Matrix implements NibbleMatrix {
    private final NibbleBlocks blocks;

    private Q5_0Matrix(NibbleBlocks blocks) {
        this.blocks = blocks;
    }

    /**
     * Over GGML Q5_0 blocks as stored in GGUF: each row is {@code cols / 32} blocks of an f16 {@code d}, a
     * little-endian 32-bit word of fifth bits ({@code qh}) and 16 bytes of nibbles. Value {@code j < 16} of a block
     * is the low nibble of byte {@code j} with bit {@code j} of {@code qh} above it, value {@code j + 16} the high
     * nibble with bit {@code j + 16}; each is kept as a byte, so {@code W = (q - 16) * d} exactly as ggml computes it. Memory:
     * 1.125 bytes per weight instead of 0.69.
     */
    public static Q5_0Matrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 22, "Q5_0");
        int nb = cols / 32;
        float[] d = new float[rows * nb];
        MemorySegment codes = QuantKernels.temporary((long) rows * cols);
        Repacking.forRange(rows, Repacking.grain(cols, 1), (r0, r1, worker) -> {
            byte[] blk = new byte[22];
            byte[] out = new byte[32];
            for (long b = (long) r0 * nb; b < (long) r1 * nb; b++) {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 22, blk, 0, 22);
                d[(int) b] = QuantKernels.half(blk, 0);
                int qh = QuantKernels.int32(blk, 2);
                for (int j = 0; j < 16; j++) {
                    int v = blk[6 + j] & 0xFF;
                    out[j] = (byte) (((v & 0xF) | (qh >>> j & 1) << 4) - 16);
                    out[j + 16] = (byte) ((v >>> 4 | (qh >>> (j + 16) & 1) << 4) - 16);
                }
                MemorySegment.copy(out, 0, codes, ValueLayout.JAVA_BYTE, b * 32, 32);
            }
        });
        return new Q5_0Matrix(new NibbleBlocks(codes, d, 32, 16, rows, cols, "Q5_0"));
    }

    @Override public int rows() { return blocks.rows(); }
    @Override public int cols() { return blocks.cols(); }
    @Override public DType dtype() { return DType.Q5_0; }
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
