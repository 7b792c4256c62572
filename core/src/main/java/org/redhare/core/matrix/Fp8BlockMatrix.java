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
 * produces exactly those bits, so 4L weights cost one 64-byte load and about three integer operations per
 * L floats. The missing 2^120 is folded into the block scale at load, and each widened vector is multiplied
 * by its row's scale before the FMA: the float operand is then the true weight, so products never go
 * subnormal unless the true product is (no activation pre-scaling is needed, and none can overflow).
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
    /** 2^120: the exponent bias the bit trick leaves out (127 - 7), folded into the scales. */
    private static final float BIAS = 0x1p120f;

    private final MemorySegment packed; // [rows * cols] codes in the tile layout above
    private final float[] scales;       // [rows, nb] per-row copy of the block scales, times 2^120
    private final int[] chunkBlock;     // [cols / L] scale block of each L-column chunk
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
        if (bh < 1 || bw < 1 || bw % Kernels.L != 0 && bw < cols) {
            throw new IllegalArgumentException("FP8 scale block " + bh + "x" + bw + " is not supported: the block width must be a"
                    + " multiple of " + Kernels.L + " (checkpoints use 128x128)");
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
                if (!(Math.abs(s) < 0x1p7f)) {
                    throw new IllegalArgumentException("FP8 block scale [" + r / bh + ", " + b + "] is " + s
                            + "; expected a finite scale below 128 (weights above 448 * 128 are not plausible)");
                }
                this.scales[r * nb + b] = s * BIAS;
            }
        }
        this.chunkBlock = new int[cols / Kernels.L + 1];
        for (int j = 0; j < chunkBlock.length; j++) {
            chunkBlock[j] = Math.min(nb - 1, j * Kernels.L / bw);
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
        float[] buf = pool.scratch(pool.threads() * QuantKernels.laneScratch());
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()),
                (t0, t1, w) -> run(x, n, y, t0, t1, buf, w * QuantKernels.laneScratch()));
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
            dst[off + c] = decode(packed.get(ValueLayout.JAVA_BYTE, QuantKernels.byteOffset(rows, cols, r, c))) * scales[r * nb + chunkOfColumn(c)];
        }
    }

    private int chunkOfColumn(int c) {
        return c / bw;
    }

    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+3}. */
    private void tile4x4(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * cols;
        int b;
        final int sr0 = (r0 + 0) * nb;
        final int sr1 = (r0 + 1) * nb;
        final int sr2 = (r0 + 2) * nb;
        final int sr3 = (r0 + 3) * nb;
        final int x0 = (t + 0) * cols;
        final int x1 = (t + 1) * cols;
        final int x2 = (t + 2) * cols;
        final int x3 = (t + 3) * cols;
        FloatVector a00 = FloatVector.zero(F); FloatVector a01 = FloatVector.zero(F); FloatVector a02 = FloatVector.zero(F); FloatVector a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F); FloatVector a11 = FloatVector.zero(F); FloatVector a12 = FloatVector.zero(F); FloatVector a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F); FloatVector a21 = FloatVector.zero(F); FloatVector a22 = FloatVector.zero(F); FloatVector a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F); FloatVector a31 = FloatVector.zero(F); FloatVector a32 = FloatVector.zero(F); FloatVector a33 = FloatVector.zero(F);
        long off = base;
        for (int c = 0; c < full; c += G, off += 4L * GB) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            b = chunkBlock[c / L + 0];
            FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector w10 = v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr1 + b]);
            FloatVector w20 = v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr2 + b]);
            FloatVector w30 = v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr3 + b]);
            FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            FloatVector x10 = FloatVector.fromArray(F, x, x1 + c + 0 * L);
            FloatVector x20 = FloatVector.fromArray(F, x, x2 + c + 0 * L);
            FloatVector x30 = FloatVector.fromArray(F, x, x3 + c + 0 * L);
            a00 = w00.fma(x00, a00);
            a01 = w00.fma(x10, a01);
            a02 = w00.fma(x20, a02);
            a03 = w00.fma(x30, a03);
            a10 = w10.fma(x00, a10);
            a11 = w10.fma(x10, a11);
            a12 = w10.fma(x20, a12);
            a13 = w10.fma(x30, a13);
            a20 = w20.fma(x00, a20);
            a21 = w20.fma(x10, a21);
            a22 = w20.fma(x20, a22);
            a23 = w20.fma(x30, a23);
            a30 = w30.fma(x00, a30);
            a31 = w30.fma(x10, a31);
            a32 = w30.fma(x20, a32);
            a33 = w30.fma(x30, a33);
            b = chunkBlock[c / L + 1];
            FloatVector w01 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector w11 = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr1 + b]);
            FloatVector w21 = v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr2 + b]);
            FloatVector w31 = v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr3 + b]);
            FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            FloatVector x11 = FloatVector.fromArray(F, x, x1 + c + 1 * L);
            FloatVector x21 = FloatVector.fromArray(F, x, x2 + c + 1 * L);
            FloatVector x31 = FloatVector.fromArray(F, x, x3 + c + 1 * L);
            a00 = w01.fma(x01, a00);
            a01 = w01.fma(x11, a01);
            a02 = w01.fma(x21, a02);
            a03 = w01.fma(x31, a03);
            a10 = w11.fma(x01, a10);
            a11 = w11.fma(x11, a11);
            a12 = w11.fma(x21, a12);
            a13 = w11.fma(x31, a13);
            a20 = w21.fma(x01, a20);
            a21 = w21.fma(x11, a21);
            a22 = w21.fma(x21, a22);
            a23 = w21.fma(x31, a23);
            a30 = w31.fma(x01, a30);
            a31 = w31.fma(x11, a31);
            a32 = w31.fma(x21, a32);
            a33 = w31.fma(x31, a33);
            b = chunkBlock[c / L + 2];
            FloatVector w02 = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector w12 = v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr1 + b]);
            FloatVector w22 = v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr2 + b]);
            FloatVector w32 = v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr3 + b]);
            FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            FloatVector x12 = FloatVector.fromArray(F, x, x1 + c + 2 * L);
            FloatVector x22 = FloatVector.fromArray(F, x, x2 + c + 2 * L);
            FloatVector x32 = FloatVector.fromArray(F, x, x3 + c + 2 * L);
            a00 = w02.fma(x02, a00);
            a01 = w02.fma(x12, a01);
            a02 = w02.fma(x22, a02);
            a03 = w02.fma(x32, a03);
            a10 = w12.fma(x02, a10);
            a11 = w12.fma(x12, a11);
            a12 = w12.fma(x22, a12);
            a13 = w12.fma(x32, a13);
            a20 = w22.fma(x02, a20);
            a21 = w22.fma(x12, a21);
            a22 = w22.fma(x22, a22);
            a23 = w22.fma(x32, a23);
            a30 = w32.fma(x02, a30);
            a31 = w32.fma(x12, a31);
            a32 = w32.fma(x22, a32);
            a33 = w32.fma(x32, a33);
            b = chunkBlock[c / L + 3];
            FloatVector w03 = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector w13 = v1.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr1 + b]);
            FloatVector w23 = v2.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr2 + b]);
            FloatVector w33 = v3.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr3 + b]);
            FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            FloatVector x13 = FloatVector.fromArray(F, x, x1 + c + 3 * L);
            FloatVector x23 = FloatVector.fromArray(F, x, x2 + c + 3 * L);
            FloatVector x33 = FloatVector.fromArray(F, x, x3 + c + 3 * L);
            a00 = w03.fma(x03, a00);
            a01 = w03.fma(x13, a01);
            a02 = w03.fma(x23, a02);
            a03 = w03.fma(x33, a03);
            a10 = w13.fma(x03, a10);
            a11 = w13.fma(x13, a11);
            a12 = w13.fma(x23, a12);
            a13 = w13.fma(x33, a13);
            a20 = w23.fma(x03, a20);
            a21 = w23.fma(x13, a21);
            a22 = w23.fma(x23, a22);
            a23 = w23.fma(x33, a23);
            a30 = w33.fma(x03, a30);
            a31 = w33.fma(x13, a31);
            a32 = w33.fma(x23, a32);
            a33 = w33.fma(x33, a33);
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 1) * 4;
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
        a00.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo) + q00;
        a10.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo) + q10;
        a20.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo) + q20;
        a30.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo) + q30;
        a01.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo) + q01;
        a11.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo) + q11;
        a21.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo) + q21;
        a31.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo) + q31;
        a02.intoArray(buf, bo);
        y[(t + 2) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo) + q02;
        a12.intoArray(buf, bo);
        y[(t + 2) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo) + q12;
        a22.intoArray(buf, bo);
        y[(t + 2) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo) + q22;
        a32.intoArray(buf, bo);
        y[(t + 2) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo) + q32;
        a03.intoArray(buf, bo);
        y[(t + 3) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo) + q03;
        a13.intoArray(buf, bo);
        y[(t + 3) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo) + q13;
        a23.intoArray(buf, bo);
        y[(t + 3) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo) + q23;
        a33.intoArray(buf, bo);
        y[(t + 3) * rows + r0 + 3] = QuantKernels.sumLanes(buf, bo) + q33;
    }
    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+0}. */
    private void tile4x1(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * cols;
        int b;
        final int sr0 = (r0 + 0) * nb;
        final int sr1 = (r0 + 1) * nb;
        final int sr2 = (r0 + 2) * nb;
        final int sr3 = (r0 + 3) * nb;
        final int x0 = (t + 0) * cols;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        long off = base;
        for (int c = 0; c < full; c += G, off += 4L * GB) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off + 0L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v1 = IntVector.fromMemorySegment(I, packed, off + 1L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2L * GB, ByteOrder.LITTLE_ENDIAN);
            IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3L * GB, ByteOrder.LITTLE_ENDIAN);
            b = chunkBlock[c / L + 0];
            FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector w10 = v1.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr1 + b]);
            FloatVector w20 = v2.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr2 + b]);
            FloatVector w30 = v3.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr3 + b]);
            FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            a00 = w00.fma(x00, a00);
            a10 = w10.fma(x00, a10);
            a20 = w20.fma(x00, a20);
            a30 = w30.fma(x00, a30);
            b = chunkBlock[c / L + 1];
            FloatVector w01 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector w11 = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr1 + b]);
            FloatVector w21 = v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr2 + b]);
            FloatVector w31 = v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr3 + b]);
            FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            a00 = w01.fma(x01, a00);
            a10 = w11.fma(x01, a10);
            a20 = w21.fma(x01, a20);
            a30 = w31.fma(x01, a30);
            b = chunkBlock[c / L + 2];
            FloatVector w02 = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector w12 = v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr1 + b]);
            FloatVector w22 = v2.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr2 + b]);
            FloatVector w32 = v3.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr3 + b]);
            FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            a00 = w02.fma(x02, a00);
            a10 = w12.fma(x02, a10);
            a20 = w22.fma(x02, a20);
            a30 = w32.fma(x02, a30);
            b = chunkBlock[c / L + 3];
            FloatVector w03 = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector w13 = v1.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr1 + b]);
            FloatVector w23 = v2.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr2 + b]);
            FloatVector w33 = v3.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr3 + b]);
            FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            a00 = w03.fma(x03, a00);
            a10 = w13.fma(x03, a10);
            a20 = w23.fma(x03, a20);
            a30 = w33.fma(x03, a30);
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 1) * 4;
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
        a00.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 0] = QuantKernels.sumLanes(buf, bo) + q00;
        a10.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 1] = QuantKernels.sumLanes(buf, bo) + q10;
        a20.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 2] = QuantKernels.sumLanes(buf, bo) + q20;
        a30.intoArray(buf, bo);
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
        final int x0 = t * cols;
        int b;
        FloatVector a00 = FloatVector.zero(F);
        final long step = (long) h * GB;
        long off = base + (long) ri * GB;
        for (int c = 0; c < full; c += G, off += step) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            b = chunkBlock[c / L + 0];
            FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector x00 = FloatVector.fromArray(F, x, x0 + c + 0 * L);
            a00 = w00.fma(x00, a00);
            b = chunkBlock[c / L + 1];
            FloatVector w01 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + 1 * L);
            a00 = w01.fma(x01, a00);
            b = chunkBlock[c / L + 2];
            FloatVector w02 = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector x02 = FloatVector.fromArray(F, x, x0 + c + 2 * L);
            a00 = w02.fma(x02, a00);
            b = chunkBlock[c / L + 3];
            FloatVector w03 = v0.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().mul(scales[sr0 + b]);
            FloatVector x03 = FloatVector.fromArray(F, x, x0 + c + 3 * L);
            a00 = w03.fma(x03, a00);
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 1) * h + (long) ri * tl;
        float q00 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = decode(packed.get(ValueLayout.JAVA_BYTE, toff + i)) * scales[sr0 + cb];
            q00 += u0 * x[x0 + full + i];
        }
        a00.intoArray(buf, bo);
        y[t * rows + r] = QuantKernels.sumLanes(buf, bo) + q00;
    }
}
