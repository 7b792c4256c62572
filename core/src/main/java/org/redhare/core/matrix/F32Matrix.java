package org.redhare.core.matrix;

import org.redhare.core.ops.VectorMath;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/** Float32 weights over a (mapped) segment, row-major {@code [rows, cols]}. */
public final class F32Matrix implements WeightMatrix {
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data; // [rows, cols] f32
    private final int rows;
    private final int cols;

    public F32Matrix(MemorySegment data, int rows, int cols) {
        MatrixChecks.size(data, rows, cols, 4, "F32");
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return DType.F32; }
    @Override public long bytes() { return (long) rows * cols * 4; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), (r0, r1, w) -> compute(x, n, y, r0, r1));
    }

    private void compute(float[] x, int n, float[] y, int r0, int r1) {
        int L = Kernels.L;
        int vecCols = cols / L * L;
        for (int r = r0; r < r1; r++) {
            long base = (long) r * cols * 4;
            for (int t = 0; t < n; t++) {
                int xo = t * cols;
                FloatVector acc0 = FloatVector.zero(Kernels.F);
                FloatVector acc1 = FloatVector.zero(Kernels.F);
                int c = 0;
                for (; c + 2 * L <= vecCols; c += 2 * L) {
                    FloatVector w0 = FloatVector.fromMemorySegment(Kernels.F, data, base + c * 4L, ByteOrder.LITTLE_ENDIAN);
                    FloatVector w1 = FloatVector.fromMemorySegment(Kernels.F, data, base + (c + L) * 4L, ByteOrder.LITTLE_ENDIAN);
                    acc0 = w0.fma(FloatVector.fromArray(Kernels.F, x, xo + c), acc0);
                    acc1 = w1.fma(FloatVector.fromArray(Kernels.F, x, xo + c + L), acc1);
                }
                for (; c < vecCols; c += L) {
                    FloatVector w0 = FloatVector.fromMemorySegment(Kernels.F, data, base + c * 4L, ByteOrder.LITTLE_ENDIAN);
                    acc0 = w0.fma(FloatVector.fromArray(Kernels.F, x, xo + c), acc0);
                }
                float sum = VectorMath.sum(acc0.add(acc1));
                for (; c < cols; c++) {
                    sum += data.get(LE_FLOAT, base + c * 4L) * x[xo + c];
                }
                y[t * rows + r] = sum;
            }
        }
    }

    @Override
    public void row(int r, float[] dst, int off) {
        MemorySegment.copy(data, LE_FLOAT, (long) r * cols * 4, dst, off, cols);
    }
}
