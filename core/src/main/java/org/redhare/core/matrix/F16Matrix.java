package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.ops.VectorMath;

/**
 * IEEE half-precision weights straight over the checkpoint's bytes, row-major {@code [rows, cols]}.
 *
 * <p>Widening by bit arithmetic, no lane-wise conversion: for the half {@code h} in an int lane,
 * {@code (h & 0x8000) << 16 | (h & 0x7FFF) << 13} read as a float is {@code value * 2^-112}
 * (subnormals included; infinities and NaN are not expected in weights). The missing {@code 2^112}
 * is split: activations are pre-scaled by {@code 2^100} when they are reordered, the sum by {@code 2^12},
 * so no product falls into the subnormal range. Same even/odd block order as {@link Bf16Matrix}.
 */
public final class F16Matrix implements WeightMatrix {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final float X_SCALE = 0x1p100f;
    private static final float Y_SCALE = 0x1p12f;

    private final MemorySegment data; // [rows, cols] f16
    private final int rows;
    private final int cols;

    public F16Matrix(MemorySegment data, int rows, int cols) {
        MatrixChecks.size(data, rows, cols, 2, "F16");
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return DType.F16; }
    @Override public long bytes() { return (long) rows * cols * 2; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        float[] xp = pool.scratch(n * cols);
        Kernels.deinterleave(x, n, cols, xp);
        for (int i = 0, e = n * cols; i < e; i++) {
            xp[i] *= X_SCALE;
        }
        pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), (r0, r1, w) -> compute(xp, n, y, r0, r1));
    }

    /*
     * Batch invariance as in Bf16Matrix: each y[t, r] is summed in one order whatever n is (even and
     * odd accumulators over full blocks, fixed-order lane sum, tail in order). F16 checkpoints are rare
     * next to BF16, so this keeps one row per pass and shares widened weights across three tokens.
     */
    private void compute(float[] xp, int n, float[] y, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            int t = 0;
            for (; t + 3 <= n; t += 3) {
                tokens3(xp, y, r, t);
            }
            for (; t < n; t++) {
                token1(xp, y, r, t);
            }
        }
    }

    private void tokens3(float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final long b0 = (long) r * cols * 2;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols;
        FloatVector e0 = FloatVector.zero(Kernels.F), o0 = FloatVector.zero(Kernels.F);
        FloatVector e1 = FloatVector.zero(Kernels.F), o1 = FloatVector.zero(Kernels.F);
        FloatVector e2 = FloatVector.zero(Kernels.F), o2 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            FloatVector we = lo(v);
            FloatVector wo = hi(v);
            e0 = we.fma(FloatVector.fromArray(Kernels.F, xp, x0 + c), e0);
            o0 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x0 + c + L), o0);
            e1 = we.fma(FloatVector.fromArray(Kernels.F, xp, x1 + c), e1);
            o1 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x1 + c + L), o1);
            e2 = we.fma(FloatVector.fromArray(Kernels.F, xp, x2 + c), e2);
            o2 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x2 + c + L), o2);
        }
        int y0 = t * rows + r;
        y[y0] = tail(b0, xp, x0, full, VectorMath.sum(e0.add(o0))) * Y_SCALE;
        y[y0 + rows] = tail(b0, xp, x1, full, VectorMath.sum(e1.add(o1))) * Y_SCALE;
        y[y0 + 2 * rows] = tail(b0, xp, x2, full, VectorMath.sum(e2.add(o2))) * Y_SCALE;
    }

    private void token1(float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final long b0 = (long) r * cols * 2;
        final int x0 = t * cols;
        FloatVector e0 = FloatVector.zero(Kernels.F), o0 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            e0 = lo(v).fma(FloatVector.fromArray(Kernels.F, xp, x0 + c), e0);
            o0 = hi(v).fma(FloatVector.fromArray(Kernels.F, xp, x0 + c + L), o0);
        }
        y[t * rows + r] = tail(b0, xp, x0, full, VectorMath.sum(e0.add(o0))) * Y_SCALE;
    }

    private float tail(long base, float[] xp, int xo, int full, float s) {
        for (int c = full; c < cols; c++) {
            s += scaledHalf(data.get(LE_SHORT, base + c * 2L)) * xp[xo + c];
        }
        return s;
    }

    @Override
    public void row(int r, float[] dst, int off) {
        long base = (long) r * cols * 2;
        for (int c = 0; c < cols; c++) {
            dst[off + c] = Float.float16ToFloat(data.get(LE_SHORT, base + c * 2L));
        }
    }

    /** Low half of each lane as {@code value * 2^-112}. */
    private static FloatVector lo(IntVector v) {
        return v.and(0x8000).lanewise(VectorOperators.LSHL, 16)
                .or(v.and(0x7FFF).lanewise(VectorOperators.LSHL, 13)).reinterpretAsFloats();
    }

    /** High half of each lane as {@code value * 2^-112}. */
    private static FloatVector hi(IntVector v) {
        return v.and(0x80000000).or(v.lanewise(VectorOperators.LSHR, 3).and(0x0FFFE000)).reinterpretAsFloats();
    }

    private static float scaledHalf(short h) {
        return Float.intBitsToFloat(((h & 0x8000) << 16) | ((h & 0x7FFF) << 13));
    }
}
