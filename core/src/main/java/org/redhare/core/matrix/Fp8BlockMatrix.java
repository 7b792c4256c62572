package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * FP8 E4M3FN weights {@code [rows, cols]} with F32 block scales {@code [ceil(rows/bh), ceil(cols/bw)]}
 * (DeepSeek-V3 / Qwen3-FP8 {@code weight_scale_inv}): {@code W[r, c] = e4m3(code[r, c]) * scale[r/bh, c/bw]}.
 * The codes stay one byte per weight in memory; the kernel widens them in registers.
 *
 * <p><b>Widening without a table.</b> For a code {@code b}, {@code ((b & 0x80) << 24) | ((b & 0x7F) << 20)}
 * read as a float is the E4M3 value times 2^-120, exact for subnormal codes too. An int lane holds four
 * codes; for code {@code k} of the lane, {@code ((v << (24 - 8k)) >> 4) & 0x87F00000} (arithmetic shift)
 * produces exactly those bits, so 4L weights cost one 64-byte load and three integer operations per L floats.
 *
 * <p><b>Scales and subnormals.</b> Each (row, token) sums {@code widened code * x} over one scale block
 * into a block accumulator, then adds it times the block scale into its total (one FMA per block, not a
 * multiply per weight). Products of the 2^-120-scaled codes with activations would be subnormal (slow on
 * x86, and Java cannot flush them to zero), so activations are copied pre-scaled by 2^64 (exact) and the
 * remaining 2^(120-64) is folded into the block scales at load: products stay around {@code w * x * 2^-56},
 * far from both ends of the float range, and activations up to 2^64 cannot overflow.
 *
 * <p><b>Layout (repacked at load).</b> Rows are grouped in tiles of {@link QuantKernels#TILE}; a tile is
 * one sequential stream: for each group of {@code G = 4L} columns, each row's G codes (permuted so byte
 * {@code k} of int lane {@code i} is column {@code k*L + i}), then each row's {@code cols % G} tail codes
 * in natural order. NaN codes (0x7F/0xFF) are rejected at load: the bit trick would read them as 480.
 */
public final class Fp8BlockMatrix implements WeightMatrix {
    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Integer> I = Kernels.I;
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int G = 4 * Kernels.L;
    private static final int GB = G; // bytes per row per group
    private static final int MASK = 0x87F00000;
    /** Activations are pre-scaled by 2^64 (see the class comment). */
    private static final float X_SCALE = 0x1p64f;
    /** The exponent bias the bit trick leaves out (2^120) less the activation pre-scale: folded into the scales. */
    private static final float BIAS = 0x1p56f;
    /** Lane-buffer floats per worker: one for sums, sixteen for the 4x4 kernel's totals. */
    private static final int LANE_BUF = 17 * Kernels.L;

    private final MemorySegment packed; // [rows * cols] codes in the tile layout above
    private final float[] scales;       // [rows, nb] per-row copy of the block scales, times 2^56
    private final int rows;
    private final int cols;
    private final int bh;               // scale block height (rows)
    private final int bw;               // scale block width (columns)
    private final int nb;               // scale blocks per row: ceil(cols / bw)

    /**
     * @param codes  {@code [rows, cols]} E4M3 codes, row-major
     * @param scales {@code [ceil(rows/bh), ceil(cols/bw)]} little-endian F32 scales
     */
    public Fp8BlockMatrix(MemorySegment codes, MemorySegment scales, int rows, int cols, int bh, int bw) {
        MatrixChecks.size(codes, rows, cols, 1, "FP8");
        if (bh < 1 || bw < 1 || bw % G != 0 && bw < cols) {
            throw new IllegalArgumentException("FP8 scale block " + bh + "x" + bw + " is not supported: the block width must be a"
                    + " multiple of " + G + " (checkpoints use 128x128)");
        }
        this.rows = rows;
        this.cols = cols;
        this.bh = bh;
        this.bw = bw;
        this.nb = (cols + bw - 1) / bw;
        int sRows = (rows + bh - 1) / bh;
        if (scales.byteSize() != (long) sRows * nb * 4) {
            throw new IllegalArgumentException("FP8 matrix [" + rows + ", " + cols + "] with " + bh + "x" + bw + " blocks needs ["
                    + sRows + ", " + nb + "] F32 scales (" + (long) sRows * nb * 4 + " bytes) but got " + scales.byteSize() + " bytes");
        }
        this.scales = new float[rows * nb];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                float s = scales.getAtIndex(LE_FLOAT, (long) (r / bh) * nb + b);
                if (!(Math.abs(s) < 0x1p7f)) { // keeps s * 2^56 and the products far from overflow
                    throw new IllegalArgumentException("FP8 block scale [" + r / bh + ", " + b + "] is " + s
                            + "; expected a finite scale below 128 (weights above 448 * 128 are not plausible)");
                }
                this.scales[r * nb + b] = s * BIAS;
            }
        }
        this.packed = QuantKernels.allocate((long) rows * cols);
        repack(codes);
    }

    /** Copies row-major codes into the tile layout ({@link QuantKernels#repackBytes}), rejecting NaN codes. */
    private void repack(MemorySegment codes) {
        byte[] row = new byte[cols];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(codes, ValueLayout.JAVA_BYTE, (long) r * cols, row, 0, cols);
            for (int c = 0; c < cols; c++) {
                if ((row[c] & 0x7F) == 0x7F) {
                    throw new IllegalArgumentException("FP8 weight [" + r + ", " + c + "] is the NaN code 0x"
                            + Integer.toHexString(row[c] & 0xFF) + "; the checkpoint is corrupt");
                }
            }
        }
        QuantKernels.repackBytes(codes, packed, rows, cols);
    }

    /** E4M3 code to its value times 2^-120 (the bit trick; exact, subnormals included). */
    private static float decode(byte b) {
        return Float.intBitsToFloat(((b & 0x80) << 24) | ((b & 0x7F) << 20));
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return DType.F8_E4M3; }
    @Override public long bytes() { return (long) rows * cols + (long) ((rows + bh - 1) / bh) * nb * 4; }

    /** Scale block height and width, as in the checkpoint. */
    public int blockRows() { return bh; }
    public int blockCols() { return bw; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        int nx = n * cols;
        float[] buf = pool.scratch(nx + pool.threads() * LANE_BUF);
        for (int i = 0; i < nx; i++) {
            buf[i] = x[i] * X_SCALE;
        }
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()),
                (t0, t1, w) -> run(buf, n, y, t0, t1, buf, nx + w * LANE_BUF));
    }

    private void run(float[] x, int n, float[] y, int tile0, int tile1, float[] buf, int bo) {
        for (int tile = tile0; tile < tile1; tile++) {
            int r0 = tile * QuantKernels.TILE;
            int h = Math.min(QuantKernels.TILE, rows - r0);
            if (h == QuantKernels.TILE) {
                int t = 0;
                for (; t + 4 <= n; t += 4) {
                    tile4x4(r0, t, x, y, buf, bo);
                }
                for (; t < n; t++) {
                    tile4x1(r0, t, x, y, buf, bo);
                }
            } else {
                for (int t = 0; t < n; t++) {
                    for (int r = r0; r < r0 + h; r++) {
                        row1(r, h, t, x, y, buf, bo);
                    }
                }
            }
        }
    }

    @Override
    public void row(int r, float[] dst, int off) {
        for (int c = 0; c < cols; c++) {
            dst[off + c] = decode(packed.get(ValueLayout.JAVA_BYTE, QuantKernels.byteOffset(rows, cols, r, c))) * scales[r * nb + c / bw] * X_SCALE;
        }
    }

    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+3}. */
    private void tile4x4(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * cols;
        final int sr0 = (r0 + 0) * nb;
        final int sr1 = (r0 + 1) * nb;
        final int sr2 = (r0 + 2) * nb;
        final int sr3 = (r0 + 3) * nb;
        final long step = 4L * G;
        long off = base;
        final int x0 = (t + 0) * cols;
        final int x1 = (t + 1) * cols;
        final int x2 = (t + 2) * cols;
        final int x3 = (t + 3) * cols;
        for (int i = 0; i < 16; i++) {
            FloatVector.zero(F).intoArray(buf, bo + L + i * L);
        }
        for (int cb = 0; cb < full; cb += bw) {
            final int ce = Math.min(full, cb + bw);
            FloatVector a00 = FloatVector.zero(F); FloatVector a01 = FloatVector.zero(F); FloatVector a02 = FloatVector.zero(F); FloatVector a03 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F); FloatVector a11 = FloatVector.zero(F); FloatVector a12 = FloatVector.zero(F); FloatVector a13 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F); FloatVector a21 = FloatVector.zero(F); FloatVector a22 = FloatVector.zero(F); FloatVector a23 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F); FloatVector a31 = FloatVector.zero(F); FloatVector a32 = FloatVector.zero(F); FloatVector a33 = FloatVector.zero(F);
            for (int c = cb; c < ce; c += G, off += step) {
                for (int k = 0; k < 4; k++) {
                IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * G, ByteOrder.LITTLE_ENDIAN);
                IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * G, ByteOrder.LITTLE_ENDIAN);
                IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * G, ByteOrder.LITTLE_ENDIAN);
                IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * G, ByteOrder.LITTLE_ENDIAN);
                FloatVector w0k = v0.lanewise(VectorOperators.LSHL, 24 - 8 * k).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w1k = v1.lanewise(VectorOperators.LSHL, 24 - 8 * k).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w2k = v2.lanewise(VectorOperators.LSHL, 24 - 8 * k).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w3k = v3.lanewise(VectorOperators.LSHL, 24 - 8 * k).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x0k = FloatVector.fromArray(F, x, x0 + c + k * L);
                FloatVector x1k = FloatVector.fromArray(F, x, x1 + c + k * L);
                FloatVector x2k = FloatVector.fromArray(F, x, x2 + c + k * L);
                FloatVector x3k = FloatVector.fromArray(F, x, x3 + c + k * L);
                a00 = w0k.fma(x0k, a00);
                a01 = w0k.fma(x1k, a01);
                a02 = w0k.fma(x2k, a02);
                a03 = w0k.fma(x3k, a03);
                a10 = w1k.fma(x0k, a10);
                a11 = w1k.fma(x1k, a11);
                a12 = w1k.fma(x2k, a12);
                a13 = w1k.fma(x3k, a13);
                a20 = w2k.fma(x0k, a20);
                a21 = w2k.fma(x1k, a21);
                a22 = w2k.fma(x2k, a22);
                a23 = w2k.fma(x3k, a23);
                a30 = w3k.fma(x0k, a30);
                a31 = w3k.fma(x1k, a31);
                a32 = w3k.fma(x2k, a32);
                a33 = w3k.fma(x3k, a33);
                }
            }
            final int b = cb / bw;
            final FloatVector d0 = FloatVector.broadcast(F, scales[sr0 + b]);
            a00.fma(d0, FloatVector.fromArray(F, buf, bo + L + 0 * L)).intoArray(buf, bo + L + 0 * L);
            a01.fma(d0, FloatVector.fromArray(F, buf, bo + L + 1 * L)).intoArray(buf, bo + L + 1 * L);
            a02.fma(d0, FloatVector.fromArray(F, buf, bo + L + 2 * L)).intoArray(buf, bo + L + 2 * L);
            a03.fma(d0, FloatVector.fromArray(F, buf, bo + L + 3 * L)).intoArray(buf, bo + L + 3 * L);
            final FloatVector d1 = FloatVector.broadcast(F, scales[sr1 + b]);
            a10.fma(d1, FloatVector.fromArray(F, buf, bo + L + 4 * L)).intoArray(buf, bo + L + 4 * L);
            a11.fma(d1, FloatVector.fromArray(F, buf, bo + L + 5 * L)).intoArray(buf, bo + L + 5 * L);
            a12.fma(d1, FloatVector.fromArray(F, buf, bo + L + 6 * L)).intoArray(buf, bo + L + 6 * L);
            a13.fma(d1, FloatVector.fromArray(F, buf, bo + L + 7 * L)).intoArray(buf, bo + L + 7 * L);
            final FloatVector d2 = FloatVector.broadcast(F, scales[sr2 + b]);
            a20.fma(d2, FloatVector.fromArray(F, buf, bo + L + 8 * L)).intoArray(buf, bo + L + 8 * L);
            a21.fma(d2, FloatVector.fromArray(F, buf, bo + L + 9 * L)).intoArray(buf, bo + L + 9 * L);
            a22.fma(d2, FloatVector.fromArray(F, buf, bo + L + 10 * L)).intoArray(buf, bo + L + 10 * L);
            a23.fma(d2, FloatVector.fromArray(F, buf, bo + L + 11 * L)).intoArray(buf, bo + L + 11 * L);
            final FloatVector d3 = FloatVector.broadcast(F, scales[sr3 + b]);
            a30.fma(d3, FloatVector.fromArray(F, buf, bo + L + 12 * L)).intoArray(buf, bo + L + 12 * L);
            a31.fma(d3, FloatVector.fromArray(F, buf, bo + L + 13 * L)).intoArray(buf, bo + L + 13 * L);
            a32.fma(d3, FloatVector.fromArray(F, buf, bo + L + 14 * L)).intoArray(buf, bo + L + 14 * L);
            a33.fma(d3, FloatVector.fromArray(F, buf, bo + L + 15 * L)).intoArray(buf, bo + L + 15 * L);
        }
        final int tl = cols - full;
        final long toff = base + (long) full * 4;
        float q00 = 0f; float q01 = 0f; float q02 = 0f; float q03 = 0f;
        float q10 = 0f; float q11 = 0f; float q12 = 0f; float q13 = 0f;
        float q20 = 0f; float q21 = 0f; float q22 = 0f; float q23 = 0f;
        float q30 = 0f; float q31 = 0f; float q32 = 0f; float q33 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i)) * scales[sr0 + cb];
            final float u1 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 1L * tl + i)) * scales[sr1 + cb];
            final float u2 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 2L * tl + i)) * scales[sr2 + cb];
            final float u3 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 3L * tl + i)) * scales[sr3 + cb];
            q00 += u0 * x[x0 + full + i];
            q01 += u0 * x[x1 + full + i];
            q02 += u0 * x[x2 + full + i];
            q03 += u0 * x[x3 + full + i];
            q10 += u1 * x[x0 + full + i];
            q11 += u1 * x[x1 + full + i];
            q12 += u1 * x[x2 + full + i];
            q13 += u1 * x[x3 + full + i];
            q20 += u2 * x[x0 + full + i];
            q21 += u2 * x[x1 + full + i];
            q22 += u2 * x[x2 + full + i];
            q23 += u2 * x[x3 + full + i];
            q30 += u3 * x[x0 + full + i];
            q31 += u3 * x[x1 + full + i];
            q32 += u3 * x[x2 + full + i];
            q33 += u3 * x[x3 + full + i];
        }
        y[(t + 0) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo + L + 0 * L) + q00;
        y[(t + 0) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo + L + 4 * L) + q10;
        y[(t + 0) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo + L + 8 * L) + q20;
        y[(t + 0) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo + L + 12 * L) + q30;
        y[(t + 1) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo + L + 1 * L) + q01;
        y[(t + 1) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo + L + 5 * L) + q11;
        y[(t + 1) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo + L + 9 * L) + q21;
        y[(t + 1) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo + L + 13 * L) + q31;
        y[(t + 2) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo + L + 2 * L) + q02;
        y[(t + 2) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo + L + 6 * L) + q12;
        y[(t + 2) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo + L + 10 * L) + q22;
        y[(t + 2) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo + L + 14 * L) + q32;
        y[(t + 3) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo + L + 3 * L) + q03;
        y[(t + 3) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo + L + 7 * L) + q13;
        y[(t + 3) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo + L + 11 * L) + q23;
        y[(t + 3) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo + L + 15 * L) + q33;
    }
    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+0}. */
    private void tile4x1(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * cols;
        final int sr0 = (r0 + 0) * nb;
        final int sr1 = (r0 + 1) * nb;
        final int sr2 = (r0 + 2) * nb;
        final int sr3 = (r0 + 3) * nb;
        final long step = 4L * G;
        long off = base;
        final int x0 = (t + 0) * cols;
        FloatVector s00 = FloatVector.zero(F);
        FloatVector s10 = FloatVector.zero(F);
        FloatVector s20 = FloatVector.zero(F);
        FloatVector s30 = FloatVector.zero(F);
        for (int cb = 0; cb < full; cb += bw) {
            final int ce = Math.min(full, cb + bw);
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            for (int c = cb; c < ce; c += G, off += step) {
                IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * G, ByteOrder.LITTLE_ENDIAN);
                IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * G, ByteOrder.LITTLE_ENDIAN);
                IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * G, ByteOrder.LITTLE_ENDIAN);
                IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * G, ByteOrder.LITTLE_ENDIAN);
                FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w10 = v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w20 = v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w30 = v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
                a00 = w00.fma(x00, a00);
                a10 = w10.fma(x00, a10);
                a20 = w20.fma(x00, a20);
                a30 = w30.fma(x00, a30);
                FloatVector w01 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w11 = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w21 = v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w31 = v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
                a00 = w01.fma(x01, a00);
                a10 = w11.fma(x01, a10);
                a20 = w21.fma(x01, a20);
                a30 = w31.fma(x01, a30);
                FloatVector w02 = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w12 = v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w22 = v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w32 = v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
                a00 = w02.fma(x02, a00);
                a10 = w12.fma(x02, a10);
                a20 = w22.fma(x02, a20);
                a30 = w32.fma(x02, a30);
                FloatVector w03 = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w13 = v1.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w23 = v2.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector w33 = v3.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
                a00 = w03.fma(x03, a00);
                a10 = w13.fma(x03, a10);
                a20 = w23.fma(x03, a20);
                a30 = w33.fma(x03, a30);
            }
            final int b = cb / bw;
            final FloatVector d0 = FloatVector.broadcast(F, scales[sr0 + b]);
            s00 = a00.fma(d0, s00);
            final FloatVector d1 = FloatVector.broadcast(F, scales[sr1 + b]);
            s10 = a10.fma(d1, s10);
            final FloatVector d2 = FloatVector.broadcast(F, scales[sr2 + b]);
            s20 = a20.fma(d2, s20);
            final FloatVector d3 = FloatVector.broadcast(F, scales[sr3 + b]);
            s30 = a30.fma(d3, s30);
        }
        final int tl = cols - full;
        final long toff = base + (long) full * 4;
        float q00 = 0f;
        float q10 = 0f;
        float q20 = 0f;
        float q30 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i)) * scales[sr0 + cb];
            final float u1 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 1L * tl + i)) * scales[sr1 + cb];
            final float u2 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 2L * tl + i)) * scales[sr2 + cb];
            final float u3 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 3L * tl + i)) * scales[sr3 + cb];
            q00 += u0 * x[x0 + full + i];
            q10 += u1 * x[x0 + full + i];
            q20 += u2 * x[x0 + full + i];
            q30 += u3 * x[x0 + full + i];
        }
        s00.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo) + q00;
        s10.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo) + q10;
        s20.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo) + q20;
        s30.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo) + q30;
    }
    /** Row {@code r} of a tile of {@code h} rows, token {@code t}; same summation order as the tile kernels. */
    private void row1(int r, int h, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int r0 = r - r % QuantKernels.TILE;
        final int ri = r - r0;
        final long base = (long) r0 * cols;
        final int sr0 = r * nb;
        final long step = (long) h * G;
        long off = base + (long) ri * G;
        final int x0 = (t + 0) * cols;
        FloatVector s00 = FloatVector.zero(F);
        for (int cb = 0; cb < full; cb += bw) {
            final int ce = Math.min(full, cb + bw);
            FloatVector a00 = FloatVector.zero(F);
            for (int c = cb; c < ce; c += G, off += step) {
                IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * G, ByteOrder.LITTLE_ENDIAN);
                FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
                a00 = w00.fma(x00, a00);
                FloatVector w01 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
                a00 = w01.fma(x01, a00);
                FloatVector w02 = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
                a00 = w02.fma(x02, a00);
                FloatVector w03 = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats();
                FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
                a00 = w03.fma(x03, a00);
            }
            final int b = cb / bw;
            final FloatVector d0 = FloatVector.broadcast(F, scales[sr0 + b]);
            s00 = a00.fma(d0, s00);
        }
        final int tl = cols - full;
        final long toff = base + (long) full * h + (long) ri * tl;
        float q00 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i)) * scales[sr0 + cb];
            q00 += u0 * x[x0 + full + i];
        }
        s00.intoArray(buf, bo);
        y[t * rows + r] = QuantKernels.sumLanes(buf, bo) + q00;
    }
}
