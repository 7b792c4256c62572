package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * GGML Q4_0 weights: blocks of 32 columns of a row share an f16 scale {@code d};
 * {@code W[r, c] = (q[r, c] - 8) * d[r, c / 32]} with 4-bit {@code q}. The kernels multiply integers: each token's
 * activations are quantized per block to int8, as llama.cpp does for this format, and products are summed in 16 bits
 * ({@link NibbleBlocks}). Where the CPU has AVX512-VNNI, Q4_0 loads as {@link BlockIntMatrix} instead (sums in 32-bit
 * lanes, {@code VPDPBUSD}).
 */
public final class Q4_0Matrix implements NibbleMatrix {

    private final NibbleBlocks blocks;

    /**
     * @param q      {@code [rows, cols]} 4-bit values 0..15, one per byte, row-major
     * @param scales {@code [rows, cols / 32]} block scales d
     */
    public Q4_0Matrix(MemorySegment q, float[] scales, int rows, int cols) {
        this.blocks = new NibbleBlocks(q, scales, null, rows, cols, "Q4_0");
    }

    private Q4_0Matrix(NibbleBlocks blocks) {
        this.blocks = blocks;
    }

    /**
     * Over GGML Q4_0 blocks as stored in GGUF: per row {@code cols / 32} blocks of an f16 scale and 16 nibble bytes,
     * repacked in one pass ({@code NibbleBlocks.ofGgmlQ4_0}).
     */
    public static Q4_0Matrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 18, "Q4_0");
        return new Q4_0Matrix(NibbleBlocks.ofGgmlQ4_0(blocks, rows, cols));
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
    public NibbleBlocks blocks() {
        return blocks;
    }

    @Override
    public void row(int r, float[] dst, int off) {
        blocks.row(r, dst, off);
    }
}
