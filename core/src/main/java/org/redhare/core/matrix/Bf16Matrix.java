package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * BF16 weights straight over the checkpoint's bytes, row-major {@code [rows, cols]}.
 *
 * <p>Widening costs two integer operations per {@code 2L} weights: an int lane holds two bf16 values,
 * {@code v << 16} is the even one as a float and {@code v & 0xFFFF0000} the odd one. Activations are
 * reordered per block to even-then-odd so both meet contiguous floats (see {@link Kernels#deinterleave}).
 */
public final class Bf16Matrix implements WeightMatrix {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data; // [rows, cols] bf16
    private final int rows;
    private final int cols;

    public Bf16Matrix(MemorySegment data, int rows, int cols) {
        MatrixChecks.size(data, rows, cols, 2, "BF16");
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return DType.BF16; }
    @Override public long bytes() { return (long) rows * cols * 2; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        float[] xp = pool.scratch(n * cols);
        Kernels.deinterleave(x, n, cols, xp);
        int grain = Kernels.rowGrain(rows, pool.threads());
        if (n == 1) {
            pool.forRange(rows, grain, (r0, r1, w) -> gemv(xp, y, r0, r1));
        } else {
            pool.forRange(rows, grain, (r0, r1, w) -> gemm(xp, n, y, r0, r1));
        }
    }

    private void gemv(float[] xp, float[] y, int r0, int r1) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        for (int r = r0; r < r1; r++) {
            long base = (long) r * cols * 2;
            FloatVector a0 = FloatVector.zero(Kernels.F);
            FloatVector a1 = FloatVector.zero(Kernels.F);
            FloatVector a2 = FloatVector.zero(Kernels.F);
            FloatVector a3 = FloatVector.zero(Kernels.F);
            int c = 0;
            for (; c + 2 * B <= full; c += 2 * B) {
                IntVector v0 = IntVector.fromMemorySegment(Kernels.I, data, base + c * 2L, ByteOrder.LITTLE_ENDIAN);
                IntVector v1 = IntVector.fromMemorySegment(Kernels.I, data, base + (c + B) * 2L, ByteOrder.LITTLE_ENDIAN);
                a0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, c), a0);
                a1 = v0.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, c + L), a1);
                a2 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, c + B), a2);
                a3 = v1.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, c + B + L), a3);
            }
            for (; c < full; c += B) {
                IntVector v0 = IntVector.fromMemorySegment(Kernels.I, data, base + c * 2L, ByteOrder.LITTLE_ENDIAN);
                a0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, c), a0);
                a1 = v0.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, c + L), a1);
            }
            float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
            for (; c < cols; c++) {
                sum += Float.intBitsToFloat((data.get(LE_SHORT, base + c * 2L) & 0xFFFF) << 16) * xp[c];
            }
            y[r] = sum;
        }
    }

    private void gemm(float[] xp, int n, float[] y, int r0, int r1) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        for (int r = r0; r < r1; r++) {
            long base = (long) r * cols * 2;
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
                FloatVector e0 = FloatVector.zero(Kernels.F), o0 = FloatVector.zero(Kernels.F);
                FloatVector e1 = FloatVector.zero(Kernels.F), o1 = FloatVector.zero(Kernels.F);
                FloatVector e2 = FloatVector.zero(Kernels.F), o2 = FloatVector.zero(Kernels.F);
                FloatVector e3 = FloatVector.zero(Kernels.F), o3 = FloatVector.zero(Kernels.F);
                for (int c = 0; c < full; c += B) {
                    IntVector v = IntVector.fromMemorySegment(Kernels.I, data, base + c * 2L, ByteOrder.LITTLE_ENDIAN);
                    FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
                    e0 = we.fma(FloatVector.fromArray(Kernels.F, xp, x0 + c), e0);
                    o0 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x0 + c + L), o0);
                    e1 = we.fma(FloatVector.fromArray(Kernels.F, xp, x1 + c), e1);
                    o1 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x1 + c + L), o1);
                    e2 = we.fma(FloatVector.fromArray(Kernels.F, xp, x2 + c), e2);
                    o2 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x2 + c + L), o2);
                    e3 = we.fma(FloatVector.fromArray(Kernels.F, xp, x3 + c), e3);
                    o3 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x3 + c + L), o3);
                }
                float s0 = e0.add(o0).reduceLanes(VectorOperators.ADD);
                float s1 = e1.add(o1).reduceLanes(VectorOperators.ADD);
                float s2 = e2.add(o2).reduceLanes(VectorOperators.ADD);
                float s3 = e3.add(o3).reduceLanes(VectorOperators.ADD);
                for (int c = full; c < cols; c++) {
                    float w = Float.intBitsToFloat((data.get(LE_SHORT, base + c * 2L) & 0xFFFF) << 16);
                    s0 += w * xp[x0 + c];
                    s1 += w * xp[x1 + c];
                    s2 += w * xp[x2 + c];
                    s3 += w * xp[x3 + c];
                }
                y[t * rows + r] = s0;
                y[(t + 1) * rows + r] = s1;
                y[(t + 2) * rows + r] = s2;
                y[(t + 3) * rows + r] = s3;
            }
            for (; t < n; t++) {
                int x0 = t * cols;
                FloatVector e0 = FloatVector.zero(Kernels.F), o0 = FloatVector.zero(Kernels.F);
                for (int c = 0; c < full; c += B) {
                    IntVector v = IntVector.fromMemorySegment(Kernels.I, data, base + c * 2L, ByteOrder.LITTLE_ENDIAN);
                    e0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, x0 + c), e0);
                    o0 = v.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, x0 + c + L), o0);
                }
                float s0 = e0.add(o0).reduceLanes(VectorOperators.ADD);
                for (int c = full; c < cols; c++) {
                    s0 += Float.intBitsToFloat((data.get(LE_SHORT, base + c * 2L) & 0xFFFF) << 16) * xp[x0 + c];
                }
                y[t * rows + r] = s0;
            }
        }
    }

    @Override
    public void row(int r, float[] dst, int off) {
        long base = (long) r * cols * 2;
        for (int c = 0; c < cols; c++) {
            dst[off + c] = Float.intBitsToFloat((data.get(LE_SHORT, base + c * 2L) & 0xFFFF) << 16);
        }
    }
}
