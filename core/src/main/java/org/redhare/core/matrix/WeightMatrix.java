package org.redhare.core.matrix;

import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * A weight matrix {@code [rows, cols]} (rows = output features, cols = input features, the layout of
 * a PyTorch {@code nn.Linear} weight) kept in its stored precision, usually straight over a
 * memory-mapped file. Kernels widen the weights to float in registers or, a few rows at a time, in per-thread
 * buffers; there is never a float copy of the matrix.
 *
 * <p>Activations are row-major float arrays: {@code x[t * cols + c]} for token {@code t}, and results
 * {@code y[t * rows + r]}. One kernel per (dtype x shape of work) is chosen when the matrix is made.
 */
public sealed interface WeightMatrix permits RowWidenedMatrix, Bf16Matrix, Fp8BlockMatrix, AffineBlockMatrix, Q8_0Matrix, NibbleMatrix, VnniMatrix,
        Int8RowMatrix {

    int rows();

    int cols();

    DType dtype();

    /** Bytes of weight data read by one full pass (one token of decode). */
    long bytes();

    /**
     * {@code y[t*rows + r] = sum_c W[r, c] * x[t*cols + c]} for every token {@code t < n} and row
     * {@code r}, split over the pool's threads by rows. {@code n == 1} is decode (matrix x vector);
     * larger {@code n} decodes each weight tile once for several tokens.
     */
    void multiply(Parallel pool, float[] x, int n, float[] y);

    /** Widens row {@code r} into {@code dst[off .. off + cols)} (embedding lookup). */
    void row(int r, float[] dst, int off);

    /**
     * One line on how this process multiplies: the vector width, and whether the machine-code kernels and the prefetch
     * run here (and why not), for {@code redhare info} and logs.
     */
    static String kernels() {
        return Kernels.L + "-float vectors; machine code (one-token FP8/int8, several-token BF16, FP8, int8, F16 and F32, 4- to 6-bit GGUF types, batched head screen) " + NativeKernels.status()
                + (NativeKernels.available() ? "" : "; AVX2 machine code " + Avx2Kernels.status()) + "; prefetch "
                + org.redhare.core.CachePrefetch.status();
    }
}
