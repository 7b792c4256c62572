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
        if (n == 1) {
            pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), (r0, r1, w) -> decode(xp, y, r0, r1));
        } else if (n <= STREAM_MAX_TOKENS) {
            pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), (r0, r1, w) -> computeStreaming(xp, n, y, r0, r1));
        } else {
            int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
            pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()),
                    (r0, r1, w) -> computeWidened(xp, n, y, r0, r1, pool.workerScratch(w, 4 * full)));
        }
    }

    /*
     * Batch invariance: every output y[t, r] is summed in exactly one order, whatever n and whichever
     * kernel below computes it: one accumulator over the full blocks in column order, adding for each
     * block the even-lane products and then the odd-lane products (two FMAs), then a fixed-order lane
     * sum (VectorMath.sum), then the tail columns in order. The kernels differ only in how many rows and
     * tokens share each widened weight vector and each activation load, so a request gets the same bits
     * alone or in any batch.
     */

    /**
     * Up to this many tokens (a decode step of a few users) the weights are widened in registers straight
     * from memory, so reading the next weights overlaps the arithmetic; the widened-tile path reads a row
     * group first and computes after, which leaves the memory idle while the FMAs run.
     */
    private static final int STREAM_MAX_TOKENS = 16;

    private void computeStreaming(float[] xp, int n, float[] y, int r0, int r1) {
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                rows4tokens4(xp, y, r, t);
            }
            for (; t < n; t++) {
                rows4token1(xp, y, r, t);
            }
        }
        for (; r < r1; r++) {
            for (int t = 0; t < n; t++) {
                row1token1(xp, y, r, t);
            }
        }
    }

    private void rows4tokens4(float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final long stride = (long) cols * 2;
        final long b0 = r * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(Kernels.F), a01 = FloatVector.zero(Kernels.F);
        FloatVector a02 = FloatVector.zero(Kernels.F), a03 = FloatVector.zero(Kernels.F);
        FloatVector a10 = FloatVector.zero(Kernels.F), a11 = FloatVector.zero(Kernels.F);
        FloatVector a12 = FloatVector.zero(Kernels.F), a13 = FloatVector.zero(Kernels.F);
        FloatVector a20 = FloatVector.zero(Kernels.F), a21 = FloatVector.zero(Kernels.F);
        FloatVector a22 = FloatVector.zero(Kernels.F), a23 = FloatVector.zero(Kernels.F);
        FloatVector a30 = FloatVector.zero(Kernels.F), a31 = FloatVector.zero(Kernels.F);
        FloatVector a32 = FloatVector.zero(Kernels.F), a33 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, x0 + c);
            FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, x0 + c + L);
            FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, x1 + c);
            FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, x1 + c + L);
            FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, x2 + c);
            FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, x2 + c + L);
            FloatVector xe3 = FloatVector.fromArray(Kernels.F, xp, x3 + c);
            FloatVector xd3 = FloatVector.fromArray(Kernels.F, xp, x3 + c + L);
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            FloatVector we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo = v.and(0xFFFF0000).reinterpretAsFloats();
            a00 = wo.fma(xd0, we.fma(xe0, a00));
            a01 = wo.fma(xd1, we.fma(xe1, a01));
            a02 = wo.fma(xd2, we.fma(xe2, a02));
            a03 = wo.fma(xd3, we.fma(xe3, a03));
            v = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            a10 = wo.fma(xd0, we.fma(xe0, a10));
            a11 = wo.fma(xd1, we.fma(xe1, a11));
            a12 = wo.fma(xd2, we.fma(xe2, a12));
            a13 = wo.fma(xd3, we.fma(xe3, a13));
            v = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            a20 = wo.fma(xd0, we.fma(xe0, a20));
            a21 = wo.fma(xd1, we.fma(xe1, a21));
            a22 = wo.fma(xd2, we.fma(xe2, a22));
            a23 = wo.fma(xd3, we.fma(xe3, a23));
            v = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            we = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            wo = v.and(0xFFFF0000).reinterpretAsFloats();
            a30 = wo.fma(xd0, we.fma(xe0, a30));
            a31 = wo.fma(xd1, we.fma(xe1, a31));
            a32 = wo.fma(xd2, we.fma(xe2, a32));
            a33 = wo.fma(xd3, we.fma(xe3, a33));
        }
        int y0 = t * rows + r, y1 = y0 + rows, y2 = y1 + rows, y3 = y2 + rows;
        y[y0] = tail(b0, xp, x0, full, VectorMath.sum(a00));
        y[y1] = tail(b0, xp, x1, full, VectorMath.sum(a01));
        y[y2] = tail(b0, xp, x2, full, VectorMath.sum(a02));
        y[y3] = tail(b0, xp, x3, full, VectorMath.sum(a03));
        y[y0 + 1] = tail(b1, xp, x0, full, VectorMath.sum(a10));
        y[y1 + 1] = tail(b1, xp, x1, full, VectorMath.sum(a11));
        y[y2 + 1] = tail(b1, xp, x2, full, VectorMath.sum(a12));
        y[y3 + 1] = tail(b1, xp, x3, full, VectorMath.sum(a13));
        y[y0 + 2] = tail(b2, xp, x0, full, VectorMath.sum(a20));
        y[y1 + 2] = tail(b2, xp, x1, full, VectorMath.sum(a21));
        y[y2 + 2] = tail(b2, xp, x2, full, VectorMath.sum(a22));
        y[y3 + 2] = tail(b2, xp, x3, full, VectorMath.sum(a23));
        y[y0 + 3] = tail(b3, xp, x0, full, VectorMath.sum(a30));
        y[y1 + 3] = tail(b3, xp, x1, full, VectorMath.sum(a31));
        y[y2 + 3] = tail(b3, xp, x2, full, VectorMath.sum(a32));
        y[y3 + 3] = tail(b3, xp, x3, full, VectorMath.sum(a33));
    }

    /** Decode: four rows per pass give four independent FMA chains over four weight streams. */
    private void decode(float[] xp, float[] y, int r0, int r1) {
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            rows4token1(xp, y, r, 0);
        }
        for (; r < r1; r++) {
            row1token1(xp, y, r, 0);
        }
    }

    /*
     * Several tokens: widening costs two integer operations per weight vector on the same ports as the
     * FMAs, so four rows are widened once into a per-thread float tile (exactly the values the
     * in-register path produces, in the same even/odd block order) and a 4-row x 4-token micro-kernel
     * (16 accumulators) runs on plain float loads: 16 loads per 32 FMAs. Same arithmetic, same bits.
     */
    private void computeWidened(float[] xp, int n, float[] y, int r0, int r1, float[] tile) {
        final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
        // Token blocks whose activations stay in L2 while every row group of this chunk passes over them;
        // otherwise each row group would stream all n tokens' activations from L3 or memory again.
        int block = Math.max(4, Math.min(n, ACTIVATION_BLOCK_BYTES / (cols * 4)) / 4 * 4);
        for (int t0 = 0; t0 < n; t0 += block) {
            int t1 = Math.min(n, t0 + block);
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                widen(r, tile, full);
                int t = t0;
                for (; t + 4 <= t1; t += 4) {
                    tile4tokens4(tile, full, xp, y, r, t);
                }
                for (; t < t1; t++) {
                    tile4token1(tile, full, xp, y, r, t);
                }
            }
            for (; r < r1; r++) {
                for (int t = t0; t < t1; t++) {
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

    private void tile4tokens4(float[] tile, int full, float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int w1 = full, w2 = 2 * full, w3 = 3 * full;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(Kernels.F), a01 = FloatVector.zero(Kernels.F);
        FloatVector a02 = FloatVector.zero(Kernels.F), a03 = FloatVector.zero(Kernels.F);
        FloatVector a10 = FloatVector.zero(Kernels.F), a11 = FloatVector.zero(Kernels.F);
        FloatVector a12 = FloatVector.zero(Kernels.F), a13 = FloatVector.zero(Kernels.F);
        FloatVector a20 = FloatVector.zero(Kernels.F), a21 = FloatVector.zero(Kernels.F);
        FloatVector a22 = FloatVector.zero(Kernels.F), a23 = FloatVector.zero(Kernels.F);
        FloatVector a30 = FloatVector.zero(Kernels.F), a31 = FloatVector.zero(Kernels.F);
        FloatVector a32 = FloatVector.zero(Kernels.F), a33 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector xe0 = FloatVector.fromArray(Kernels.F, xp, x0 + c);
            FloatVector xd0 = FloatVector.fromArray(Kernels.F, xp, x0 + c + L);
            FloatVector xe1 = FloatVector.fromArray(Kernels.F, xp, x1 + c);
            FloatVector xd1 = FloatVector.fromArray(Kernels.F, xp, x1 + c + L);
            FloatVector xe2 = FloatVector.fromArray(Kernels.F, xp, x2 + c);
            FloatVector xd2 = FloatVector.fromArray(Kernels.F, xp, x2 + c + L);
            FloatVector xe3 = FloatVector.fromArray(Kernels.F, xp, x3 + c);
            FloatVector xd3 = FloatVector.fromArray(Kernels.F, xp, x3 + c + L);
            FloatVector we = FloatVector.fromArray(Kernels.F, tile, c);
            FloatVector wo = FloatVector.fromArray(Kernels.F, tile, c + L);
            a00 = wo.fma(xd0, we.fma(xe0, a00));
            a01 = wo.fma(xd1, we.fma(xe1, a01));
            a02 = wo.fma(xd2, we.fma(xe2, a02));
            a03 = wo.fma(xd3, we.fma(xe3, a03));
            we = FloatVector.fromArray(Kernels.F, tile, w1 + c);
            wo = FloatVector.fromArray(Kernels.F, tile, w1 + c + L);
            a10 = wo.fma(xd0, we.fma(xe0, a10));
            a11 = wo.fma(xd1, we.fma(xe1, a11));
            a12 = wo.fma(xd2, we.fma(xe2, a12));
            a13 = wo.fma(xd3, we.fma(xe3, a13));
            we = FloatVector.fromArray(Kernels.F, tile, w2 + c);
            wo = FloatVector.fromArray(Kernels.F, tile, w2 + c + L);
            a20 = wo.fma(xd0, we.fma(xe0, a20));
            a21 = wo.fma(xd1, we.fma(xe1, a21));
            a22 = wo.fma(xd2, we.fma(xe2, a22));
            a23 = wo.fma(xd3, we.fma(xe3, a23));
            we = FloatVector.fromArray(Kernels.F, tile, w3 + c);
            wo = FloatVector.fromArray(Kernels.F, tile, w3 + c + L);
            a30 = wo.fma(xd0, we.fma(xe0, a30));
            a31 = wo.fma(xd1, we.fma(xe1, a31));
            a32 = wo.fma(xd2, we.fma(xe2, a32));
            a33 = wo.fma(xd3, we.fma(xe3, a33));
        }
        final long stride = (long) cols * 2;
        final long b0 = r * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
        int y0 = t * rows + r, y1 = y0 + rows, y2 = y1 + rows, y3 = y2 + rows;
        y[y0] = tail(b0, xp, x0, full, VectorMath.sum(a00));
        y[y1] = tail(b0, xp, x1, full, VectorMath.sum(a01));
        y[y2] = tail(b0, xp, x2, full, VectorMath.sum(a02));
        y[y3] = tail(b0, xp, x3, full, VectorMath.sum(a03));
        y[y0 + 1] = tail(b1, xp, x0, full, VectorMath.sum(a10));
        y[y1 + 1] = tail(b1, xp, x1, full, VectorMath.sum(a11));
        y[y2 + 1] = tail(b1, xp, x2, full, VectorMath.sum(a12));
        y[y3 + 1] = tail(b1, xp, x3, full, VectorMath.sum(a13));
        y[y0 + 2] = tail(b2, xp, x0, full, VectorMath.sum(a20));
        y[y1 + 2] = tail(b2, xp, x1, full, VectorMath.sum(a21));
        y[y2 + 2] = tail(b2, xp, x2, full, VectorMath.sum(a22));
        y[y3 + 2] = tail(b2, xp, x3, full, VectorMath.sum(a23));
        y[y0 + 3] = tail(b3, xp, x0, full, VectorMath.sum(a30));
        y[y1 + 3] = tail(b3, xp, x1, full, VectorMath.sum(a31));
        y[y2 + 3] = tail(b3, xp, x2, full, VectorMath.sum(a32));
        y[y3 + 3] = tail(b3, xp, x3, full, VectorMath.sum(a33));
    }

    private void tile4token1(float[] tile, int full, float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int w1 = full, w2 = 2 * full, w3 = 3 * full;
        final int xo = t * cols;
        FloatVector a0 = FloatVector.zero(Kernels.F), a1 = FloatVector.zero(Kernels.F);
        FloatVector a2 = FloatVector.zero(Kernels.F), a3 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector xe = FloatVector.fromArray(Kernels.F, xp, xo + c);
            FloatVector xd = FloatVector.fromArray(Kernels.F, xp, xo + c + L);
            a0 = FloatVector.fromArray(Kernels.F, tile, c + L).fma(xd, FloatVector.fromArray(Kernels.F, tile, c).fma(xe, a0));
            a1 = FloatVector.fromArray(Kernels.F, tile, w1 + c + L).fma(xd, FloatVector.fromArray(Kernels.F, tile, w1 + c).fma(xe, a1));
            a2 = FloatVector.fromArray(Kernels.F, tile, w2 + c + L).fma(xd, FloatVector.fromArray(Kernels.F, tile, w2 + c).fma(xe, a2));
            a3 = FloatVector.fromArray(Kernels.F, tile, w3 + c + L).fma(xd, FloatVector.fromArray(Kernels.F, tile, w3 + c).fma(xe, a3));
        }
        final long stride = (long) cols * 2;
        final long b0 = r * stride;
        int yo = t * rows + r;
        y[yo] = tail(b0, xp, xo, full, VectorMath.sum(a0));
        y[yo + 1] = tail(b0 + stride, xp, xo, full, VectorMath.sum(a1));
        y[yo + 2] = tail(b0 + 2 * stride, xp, xo, full, VectorMath.sum(a2));
        y[yo + 3] = tail(b0 + 3 * stride, xp, xo, full, VectorMath.sum(a3));
    }

    private void rows4token1(float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final long stride = (long) cols * 2;
        final long b0 = r * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
        final int xo = t * cols;
        FloatVector a0 = FloatVector.zero(Kernels.F), a1 = FloatVector.zero(Kernels.F);
        FloatVector a2 = FloatVector.zero(Kernels.F), a3 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector xe = FloatVector.fromArray(Kernels.F, xp, xo + c);
            FloatVector xd = FloatVector.fromArray(Kernels.F, xp, xo + c + L);
            IntVector v0 = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(Kernels.I, data, b1 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(Kernels.I, data, b2 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(Kernels.I, data, b3 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            a0 = v0.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a0));
            a1 = v1.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a1));
            a2 = v2.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a2));
            a3 = v3.and(0xFFFF0000).reinterpretAsFloats().fma(xd, v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a3));
        }
        int yo = t * rows + r;
        y[yo] = tail(b0, xp, xo, full, VectorMath.sum(a0));
        y[yo + 1] = tail(b1, xp, xo, full, VectorMath.sum(a1));
        y[yo + 2] = tail(b2, xp, xo, full, VectorMath.sum(a2));
        y[yo + 3] = tail(b3, xp, xo, full, VectorMath.sum(a3));
    }

    private void row1token1(float[] xp, float[] y, int r, int t) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final long b0 = (long) r * cols * 2;
        final int x0 = t * cols;
        FloatVector a0 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            IntVector v = IntVector.fromMemorySegment(Kernels.I, data, b0 + c * 2L, ByteOrder.LITTLE_ENDIAN);
            a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, x0 + c), a0);
            a0 = v.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(Kernels.F, xp, x0 + c + L), a0);
        }
        y[t * rows + r] = tail(b0, xp, x0, full, VectorMath.sum(a0));
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
