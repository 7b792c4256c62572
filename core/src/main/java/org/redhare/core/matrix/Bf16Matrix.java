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
        if (n >= WIDEN_MIN_TOKENS) {
            int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
            pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()),
                    (r0, r1, w) -> computeWidened(xp, n, y, r0, r1, pool.workerScratch(w, 4 * full)));
        } else {
            pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), (r0, r1, w) -> compute(xp, n, y, r0, r1));
        }
    }

    /** From this many tokens on, four rows are widened once into a float tile and reused by every token. */
    private static final int WIDEN_MIN_TOKENS = 6;

    /*
     * Batch invariance: every output y[t, r] is summed in exactly one order, whatever n and whichever
     * kernel below computes it: even lanes into one accumulator and odd lanes into another over the
     * full blocks in column order, then e + o, a fixed-order lane sum (VectorMath.sum), then the tail
     * columns in order. The kernels differ only in how many rows and tokens share each widened weight
     * vector and each activation load, so a request gets the same bits alone or in any batch.
     * Four rows per pass give decode eight independent FMA chains; four rows x three tokens (24
     * accumulators) reuse each widened weight vector three times in prompt processing.
     */
    private void compute(float[] xp, int n, float[] y, int r0, int r1) {
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            int t = 0;
            for (; t + 3 <= n; t += 3) {
                rows4tokens3(xp, y, r, t);
            }
            for (; t < n; t++) {
                rows4token1(xp, y, r, t);
            }
        }
        for (; r < r1; r++) {
            int t = 0;
            for (; t + 3 <= n; t += 3) {
                row1tokens3(xp, y, r, t);
            }
            for (; t < n; t++) {
                row1token1(xp, y, r, t);
            }
        }
    }

    /*
     * Prompt processing: widening costs two integer operations per weight vector on the same ports as
     * the FMAs, so for many tokens four rows are widened once into a per-thread float tile (exactly the
     * values the in-register path produces, in the same even/odd block order) and the micro-kernel
     * runs on plain float loads. Same arithmetic, same bits as compute().
     */
    private void computeWidened(float[] xp, int n, float[] y, int r0, int r1, float[] tile) {
        final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
        // Token blocks whose activations stay in L2 while every row group of this chunk passes over them;
        // otherwise each row group would stream all n tokens' activations from L3 or memory again.
        int block = Math.max(3, Math.min(n, ACTIVATION_BLOCK_BYTES / (cols * 4)) / 3 * 3);
        for (int t0 = 0; t0 < n; t0 += block) {
            int t1 = Math.min(n, t0 + block);
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                widen(r, tile, full);
                int t = t0;
                for (; t + 3 <= t1; t += 3) {
                    tile4tokens3(tile, full, xp, y, r, t);
                }
                for (; t < t1; t++) {
                    tile4token1(tile, full, xp, y, r, t);
                }
            }
            for (; r < r1; r++) {
                int t = t0;
                for (; t + 3 <= t1; t += 3) {
                    row1tokens3(xp, y, r, t);
                }
                for (; t < t1; t++) {
                    row1token1(xp, y, r, t);
                }
            }
        }
    }

    /** Activation bytes per token block of the prompt kernel (a share of a 1-2 MB L2). */
    private static final int ACTIVATION_BLOCK_BYTES = 512 * 1024;

    /** Rows r..r+3, full blocks only, widened to {@code tile[i * full + c ...]}: per block L even then L odd floats. */
    private void widen(int r, float[] tile, int full) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        for (int i = 0; i < 4; i++) {
            long base = (long) (r + i) * cols * 2;
            int o = i * full;
            for (int c = 0; c < full; c += B) {
                IntVector v = IntVector.fromMemorySegment(Kernels.I, data, base + c * 2L, ByteOrder.LITTLE_ENDIAN);
                v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(tile, o + c);
                v.and(0xFFFF0000).reinterpretAsFloats().intoArray(tile, o + c + L);
            }
        }
    }

    private void tile4tokens3(float[] tile, int full, float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int w1 = full, w2 = 2 * full, w3 = 3 * full;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols;
        FloatVector e00 = FloatVector.zero(Kernels.F), o00 = FloatVector.zero(Kernels.F);
        FloatVector e01 = FloatVector.zero(Kernels.F), o01 = FloatVector.zero(Kernels.F);
        FloatVector e02 = FloatVector.zero(Kernels.F), o02 = FloatVector.zero(Kernels.F);
        FloatVector e10 = FloatVector.zero(Kernels.F), o10 = FloatVector.zero(Kernels.F);
        FloatVector e11 = FloatVector.zero(Kernels.F), o11 = FloatVector.zero(Kernels.F);
        FloatVector e12 = FloatVector.zero(Kernels.F), o12 = FloatVector.zero(Kernels.F);
        FloatVector e20 = FloatVector.zero(Kernels.F), o20 = FloatVector.zero(Kernels.F);
        FloatVector e21 = FloatVector.zero(Kernels.F), o21 = FloatVector.zero(Kernels.F);
        FloatVector e22 = FloatVector.zero(Kernels.F), o22 = FloatVector.zero(Kernels.F);
        FloatVector e30 = FloatVector.zero(Kernels.F), o30 = FloatVector.zero(Kernels.F);
        FloatVector e31 = FloatVector.zero(Kernels.F), o31 = FloatVector.zero(Kernels.F);
        FloatVector e32 = FloatVector.zero(Kernels.F), o32 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, x0 + c);
            FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, x0 + c + L);
            FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, x1 + c);
            FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, x1 + c + L);
            FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, x2 + c);
            FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, x2 + c + L);
            FloatVector we = FloatVector.fromArray(Kernels.F, tile, c);
            FloatVector wo = FloatVector.fromArray(Kernels.F, tile, c + L);
            e00 = we.fma(xe0, e00); o00 = wo.fma(xd0, o00);
            e01 = we.fma(xe1, e01); o01 = wo.fma(xd1, o01);
            e02 = we.fma(xe2, e02); o02 = wo.fma(xd2, o02);
            we = FloatVector.fromArray(Kernels.F, tile, w1 + c);
            wo = FloatVector.fromArray(Kernels.F, tile, w1 + c + L);
            e10 = we.fma(xe0, e10); o10 = wo.fma(xd0, o10);
            e11 = we.fma(xe1, e11); o11 = wo.fma(xd1, o11);
            e12 = we.fma(xe2, e12); o12 = wo.fma(xd2, o12);
            we = FloatVector.fromArray(Kernels.F, tile, w2 + c);
            wo = FloatVector.fromArray(Kernels.F, tile, w2 + c + L);
            e20 = we.fma(xe0, e20); o20 = wo.fma(xd0, o20);
            e21 = we.fma(xe1, e21); o21 = wo.fma(xd1, o21);
            e22 = we.fma(xe2, e22); o22 = wo.fma(xd2, o22);
            we = FloatVector.fromArray(Kernels.F, tile, w3 + c);
            wo = FloatVector.fromArray(Kernels.F, tile, w3 + c + L);
            e30 = we.fma(xe0, e30); o30 = wo.fma(xd0, o30);
            e31 = we.fma(xe1, e31); o31 = wo.fma(xd1, o31);
            e32 = we.fma(xe2, e32); o32 = wo.fma(xd2, o32);
        }
        final long stride = (long) cols * 2;
        final long b0 = r * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
        int y0 = t * rows + r, y1 = y0 + rows, y2 = y1 + rows;
        y[y0] = tail(b0, xp, x0, full, VectorMath.sum(e00.add(o00)));
        y[y1] = tail(b0, xp, x1, full, VectorMath.sum(e01.add(o01)));
        y[y2] = tail(b0, xp, x2, full, VectorMath.sum(e02.add(o02)));
        y[y0 + 1] = tail(b1, xp, x0, full, VectorMath.sum(e10.add(o10)));
        y[y1 + 1] = tail(b1, xp, x1, full, VectorMath.sum(e11.add(o11)));
        y[y2 + 1] = tail(b1, xp, x2, full, VectorMath.sum(e12.add(o12)));
        y[y0 + 2] = tail(b2, xp, x0, full, VectorMath.sum(e20.add(o20)));
        y[y1 + 2] = tail(b2, xp, x1, full, VectorMath.sum(e21.add(o21)));
        y[y2 + 2] = tail(b2, xp, x2, full, VectorMath.sum(e22.add(o22)));
        y[y0 + 3] = tail(b3, xp, x0, full, VectorMath.sum(e30.add(o30)));
        y[y1 + 3] = tail(b3, xp, x1, full, VectorMath.sum(e31.add(o31)));
        y[y2 + 3] = tail(b3, xp, x2, full, VectorMath.sum(e32.add(o32)));
    }

    private void tile4token1(float[] tile, int full, float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int w1 = full, w2 = 2 * full, w3 = 3 * full;
        final int xo = t * cols;
        FloatVector e0 = FloatVector.zero(Kernels.F), o0 = FloatVector.zero(Kernels.F);
        FloatVector e1 = FloatVector.zero(Kernels.F), o1 = FloatVector.zero(Kernels.F);
        FloatVector e2 = FloatVector.zero(Kernels.F), o2 = FloatVector.zero(Kernels.F);
        FloatVector e3 = FloatVector.zero(Kernels.F), o3 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector xe = FloatVector.fromArray(Kernels.F, xp, xo + c);
            FloatVector xd = FloatVector.fromArray(Kernels.F, xp, xo + c + L);
            e0 = FloatVector.fromArray(Kernels.F, tile, c).fma(xe, e0);
            o0 = FloatVector.fromArray(Kernels.F, tile, c + L).fma(xd, o0);
            e1 = FloatVector.fromArray(Kernels.F, tile, w1 + c).fma(xe, e1);
            o1 = FloatVector.fromArray(Kernels.F, tile, w1 + c + L).fma(xd, o1);
            e2 = FloatVector.fromArray(Kernels.F, tile, w2 + c).fma(xe, e2);
            o2 = FloatVector.fromArray(Kernels.F, tile, w2 + c + L).fma(xd, o2);
            e3 = FloatVector.fromArray(Kernels.F, tile, w3 + c).fma(xe, e3);
            o3 = FloatVector.fromArray(Kernels.F, tile, w3 + c + L).fma(xd, o3);
        }
        final long stride = (long) cols * 2;
        final long b0 = r * stride;
        int yo = t * rows + r;
        y[yo] = tail(b0, xp, xo, full, VectorMath.sum(e0.add(o0)));
        y[yo + 1] = tail(b0 + stride, xp, xo, full, VectorMath.sum(e1.add(o1)));
        y[yo + 2] = tail(b0 + 2 * stride, xp, xo, full, VectorMath.sum(e2.add(o2)));
        y[yo + 3] = tail(b0 + 3 * stride, xp, xo, full, VectorMath.sum(e3.add(o3)));
    }

    private void rows4token1(float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final long stride = (long) cols * 2;
        final long b0 = r * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
        final int xo = t * cols;
        FloatVector e0 = FloatVector.zero(Kernels.F), o0 = FloatVector.zero(Kernels.F);
        FloatVector e1 = FloatVector.zero(Kernels.F), o1 = FloatVector.zero(Kernels.F);
        FloatVector e2 = FloatVector.zero(Kernels.F), o2 = FloatVector.zero(Kernels.F);
        FloatVector e3 = FloatVector.zero(Kernels.F), o3 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector xe = FloatVector.fromArray(Kernels.F, xp, xo + c);
            FloatVector xo2 = FloatVector.fromArray(Kernels.F, xp, xo + c + L);
            IntVector v0 = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            e0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, e0);
            o0 = v0.and(0xFFFF0000).reinterpretAsFloats().fma(xo2, o0);
            e1 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, e1);
            o1 = v1.and(0xFFFF0000).reinterpretAsFloats().fma(xo2, o1);
            e2 = v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, e2);
            o2 = v2.and(0xFFFF0000).reinterpretAsFloats().fma(xo2, o2);
            e3 = v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, e3);
            o3 = v3.and(0xFFFF0000).reinterpretAsFloats().fma(xo2, o3);
        }
        int yo = t * rows + r;
        y[yo] = tail(b0, xp, xo, full, VectorMath.sum(e0.add(o0)));
        y[yo + 1] = tail(b1, xp, xo, full, VectorMath.sum(e1.add(o1)));
        y[yo + 2] = tail(b2, xp, xo, full, VectorMath.sum(e2.add(o2)));
        y[yo + 3] = tail(b3, xp, xo, full, VectorMath.sum(e3.add(o3)));
    }

    private void rows4tokens3(float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final long stride = (long) cols * 2;
        final long b0 = r * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols;
        FloatVector e00 = FloatVector.zero(Kernels.F), o00 = FloatVector.zero(Kernels.F);
        FloatVector e01 = FloatVector.zero(Kernels.F), o01 = FloatVector.zero(Kernels.F);
        FloatVector e02 = FloatVector.zero(Kernels.F), o02 = FloatVector.zero(Kernels.F);
        FloatVector e10 = FloatVector.zero(Kernels.F), o10 = FloatVector.zero(Kernels.F);
        FloatVector e11 = FloatVector.zero(Kernels.F), o11 = FloatVector.zero(Kernels.F);
        FloatVector e12 = FloatVector.zero(Kernels.F), o12 = FloatVector.zero(Kernels.F);
        FloatVector e20 = FloatVector.zero(Kernels.F), o20 = FloatVector.zero(Kernels.F);
        FloatVector e21 = FloatVector.zero(Kernels.F), o21 = FloatVector.zero(Kernels.F);
        FloatVector e22 = FloatVector.zero(Kernels.F), o22 = FloatVector.zero(Kernels.F);
        FloatVector e30 = FloatVector.zero(Kernels.F), o30 = FloatVector.zero(Kernels.F);
        FloatVector e31 = FloatVector.zero(Kernels.F), o31 = FloatVector.zero(Kernels.F);
        FloatVector e32 = FloatVector.zero(Kernels.F), o32 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, x0 + c);
            FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, x0 + c + L);
            FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, x1 + c);
            FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, x1 + c + L);
            FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, x2 + c);
            FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, x2 + c + L);
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
            e00 = we.fma(xe0, e00); o00 = wo.fma(xd0, o00);
            e01 = we.fma(xe1, e01); o01 = wo.fma(xd1, o01);
            e02 = we.fma(xe2, e02); o02 = wo.fma(xd2, o02);
            v = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            e10 = we.fma(xe0, e10); o10 = wo.fma(xd0, o10);
            e11 = we.fma(xe1, e11); o11 = wo.fma(xd1, o11);
            e12 = we.fma(xe2, e12); o12 = wo.fma(xd2, o12);
            v = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            e20 = we.fma(xe0, e20); o20 = wo.fma(xd0, o20);
            e21 = we.fma(xe1, e21); o21 = wo.fma(xd1, o21);
            e22 = we.fma(xe2, e22); o22 = wo.fma(xd2, o22);
            v = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            e30 = we.fma(xe0, e30); o30 = wo.fma(xd0, o30);
            e31 = we.fma(xe1, e31); o31 = wo.fma(xd1, o31);
            e32 = we.fma(xe2, e32); o32 = wo.fma(xd2, o32);
        }
        int y0 = t * rows + r, y1 = y0 + rows, y2 = y1 + rows;
        y[y0] = tail(b0, xp, x0, full, VectorMath.sum(e00.add(o00)));
        y[y1] = tail(b0, xp, x1, full, VectorMath.sum(e01.add(o01)));
        y[y2] = tail(b0, xp, x2, full, VectorMath.sum(e02.add(o02)));
        y[y0 + 1] = tail(b1, xp, x0, full, VectorMath.sum(e10.add(o10)));
        y[y1 + 1] = tail(b1, xp, x1, full, VectorMath.sum(e11.add(o11)));
        y[y2 + 1] = tail(b1, xp, x2, full, VectorMath.sum(e12.add(o12)));
        y[y0 + 2] = tail(b2, xp, x0, full, VectorMath.sum(e20.add(o20)));
        y[y1 + 2] = tail(b2, xp, x1, full, VectorMath.sum(e21.add(o21)));
        y[y2 + 2] = tail(b2, xp, x2, full, VectorMath.sum(e22.add(o22)));
        y[y0 + 3] = tail(b3, xp, x0, full, VectorMath.sum(e30.add(o30)));
        y[y1 + 3] = tail(b3, xp, x1, full, VectorMath.sum(e31.add(o31)));
        y[y2 + 3] = tail(b3, xp, x2, full, VectorMath.sum(e32.add(o32)));
    }

    private void row1tokens3(float[] xp, float[] y, int r, int t) {
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
            FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
            e0 = we.fma(FloatVector.fromArray(Kernels.F, xp, x0 + c), e0);
            o0 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x0 + c + L), o0);
            e1 = we.fma(FloatVector.fromArray(Kernels.F, xp, x1 + c), e1);
            o1 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x1 + c + L), o1);
            e2 = we.fma(FloatVector.fromArray(Kernels.F, xp, x2 + c), e2);
            o2 = wo.fma(FloatVector.fromArray(Kernels.F, xp, x2 + c + L), o2);
        }
        int y0 = t * rows + r;
        y[y0] = tail(b0, xp, x0, full, VectorMath.sum(e0.add(o0)));
        y[y0 + rows] = tail(b0, xp, x1, full, VectorMath.sum(e1.add(o1)));
        y[y0 + 2 * rows] = tail(b0, xp, x2, full, VectorMath.sum(e2.add(o2)));
    }

    private void row1token1(float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final long b0 = (long) r * cols * 2;
        final int x0 = t * cols;
        FloatVector e0 = FloatVector.zero(Kernels.F), o0 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            e0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, x0 + c), e0);
            o0 = v.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, x0 + c + L), o0);
        }
        y[t * rows + r] = tail(b0, xp, x0, full, VectorMath.sum(e0.add(o0)));
    }

    /** Adds the columns past the last full block, in order, to {@code s}. */
    private float tail(long base, float[] xp, int xo, int full, float s) {
        for (int c = full; c < cols; c++) {
            s += Float.intBitsToFloat((data.get(LE_SHORT, base + c * 2L) & 0xFFFF) << 16) * xp[xo + c];
        }
        return s;
    }

    @Override
    public void row(int r, float[] dst, int off) {
        long base = (long) r * cols * 2;
        for (int c = 0; c < cols; c++) {
            dst[off + c] = Float.intBitsToFloat((data.get(LE_SHORT, base + c * 2L) & 0xFFFF) << 16);
        }
    }
}
