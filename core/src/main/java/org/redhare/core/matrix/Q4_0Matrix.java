package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * GGML Q4_0 weights: blocks of 32 columns of a row share an f16 scale {@code d};
 * {@code W[r, c] = (q[r, c] - 8) * d[r, c / 32]} with 4-bit {@code q}. The kernels multiply integers: each token's
 * activations are quantized per block to int8, as llama.cpp does for this format, and products are summed in 16 bits
 * ({@link NibbleBlocks}).
 */
public final class Q4_0Matrix implements WeightMatrix {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final NibbleBlocks blocks;

    /**
     * @param q      {@code [rows, cols]} 4-bit values 0..15, one per byte, row-major
     * @param scales {@code [rows, cols / 32]} block scales d
     */
    public Q4_0Matrix(MemorySegment q, float[] scales, int rows, int cols) {
        this.blocks = new NibbleBlocks(q, scales, null, rows, cols, "Q4_0");
    }

    /** Over GGML Q4_0 blocks as stored in GGUF: per row {@code cols / 32} blocks of an f16 scale and 16 nibble bytes. */
    public static Q4_0Matrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 18, "Q4_0");
        int nb = cols / 32;
        float[] d = new float[rows * nb];
        MemorySegment q = QuantKernels.allocate((long) rows * cols);
        for (long b = 0; b < (long) rows * nb; b++) {
            d[(int) b] = Float.float16ToFloat(blocks.get(LE_SHORT, b * 18));
            for (int j = 0; j < 16; j++) {
                int v = blocks.get(ValueLayout.JAVA_BYTE, b * 18 + 2 + j) & 0xFF;
                q.set(ValueLayout.JAVA_BYTE, b * 32 + j, (byte) (v & 0xF));
                q.set(ValueLayout.JAVA_BYTE, b * 32 + 16 + j, (byte) (v >>> 4));
            }
        }
        return new Q4_0Matrix(q, d, rows, cols);
    }

    @Override public int rows() { return blocks.rows(); }
    @Override public int cols() { return blocks.cols(); }
    @Override public DType dtype() { return DType.Q4_0; }
    @Override public long bytes() { return blocks.bytes(); }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        blocks.multiply(pool, x, n, y);
    }

    @Override
    public void row(int r, float[] dst, int off) {
        blocks.row(r, dst, off);
    }
}
