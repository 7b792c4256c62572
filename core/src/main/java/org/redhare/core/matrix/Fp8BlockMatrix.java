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
import org.redhare.core.ops.VectorMath;

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
        int full = cols / G * G;
        int panels = n >= WIDEN_MIN_TOKENS ? n / 4 * 4 * full : 0;
        float[] buf = pool.scratch(nx + panels + pool.threads() * LANE_BUF);
        for (int i = 0; i < nx; i++) {
            buf[i] = x[i] * X_SCALE;
        }
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        if (n >= WIDEN_MIN_TOKENS) {
            Kernels.packTokens4(buf, n, cols, full, Kernels.L, buf, nx);
            pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()),
                    (t0, t1, w) -> runWidened(buf, n, y, t0, t1, buf, nx + panels + w * LANE_BUF, nx,
                            pool.workerScratch(w, 4 * full)));
        } else {
            pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()),
                    (t0, t1, w) -> run(buf, n, y, t0, t1, buf, nx + w * LANE_BUF));
        }
    }

    /*
     * From this many tokens (a prompt, or a decode step of many users) each 4-row tile is widened once per
     * token block into a per-thread float tile, and a 4-row x 4-token micro-kernel runs on plain float
     * loads: widening in registers costs three integer operations per float vector on the ports the FMAs
     * use, and the register path repeats it for every 4 tokens. The tile holds exactly the floats the
     * register path computes and the FMAs run in the same order, so results are bit for bit the same.
     */
    private static final int WIDEN_MIN_TOKENS = 8;
    /** Activation bytes per token block (half of a 2 MB L2), as in {@link Bf16Matrix}. */
    private static final int ACTIVATION_BLOCK_BYTES = 1024 * 1024;

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

    private void runWidened(float[] x, int n, float[] y, int tile0, int tile1, float[] buf, int bo, int panels, float[] tw) {
        final int full = cols / G * G;
        int block = Math.max(4, Math.min(n, ACTIVATION_BLOCK_BYTES / (cols * 4)) / 4 * 4);
        for (int t0 = 0; t0 < n; t0 += block) {
            int t1 = Math.min(n, t0 + block);
            for (int tile = tile0; tile < tile1; tile++) {
                int r0 = tile * QuantKernels.TILE;
                int h = Math.min(QuantKernels.TILE, rows - r0);
                if (h == QuantKernels.TILE) {
                    widen(r0, tw, full);
                    int t = t0;
                    for (; t + 4 <= t1; t += 4) {
                        tile4x4Widened(r0, t, x, panels + t * full, y, tw, buf, bo);
                    }
                    for (; t < t1; t++) {
                        tile4x1(r0, t, x, y, buf, bo);
                    }
                } else {
                    for (int t = t0; t < t1; t++) {
                        for (int r = r0; r < r0 + h; r++) {
                            row1(r, h, t, x, y, buf, bo);
                        }
                    }
                }
            }
        }
    }

    /** The full tile at rows r0..r0+3, widened to {@code tw[(c / L * 4 + i) * L ...]} for column c, row i. */
    private void widen(int r0, float[] tw, int full) {
        final int L = Kernels.L;
        long off = (long) r0 * cols;
        for (int c = 0; c < full; c += G, off += 4L * G) {
            for (int i = 0; i < 4; i++) {
                IntVector v = IntVector.fromMemorySegment(I, packed, off + (long) i * G, ByteOrder.LITTLE_ENDIAN);
                int o = c * 4 + i * L;
                v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().intoArray(tw, o);
                v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().intoArray(tw, o + 4 * L);
                v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().intoArray(tw, o + 8 * L);
                v.lanewise(VectorOperators.ASHR, 4).and(MASK).reinterpretAsFloats().intoArray(tw, o + 12 * L);
            }
        }
    }

    /** {@link #tile4x4} on the widened tile {@code tw} and the 4-token panel at {@code x[px ...]}: same operations, same order. */
    private void tile4x4Widened(int r0, int t, float[] x, int px, float[] y, float[] tw, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int sr0 = (r0 + 0) * nb;
        final int sr1 = (r0 + 1) * nb;
        final int sr2 = (r0 + 2) * nb;
        final int sr3 = (r0 + 3) * nb;
        for (int i = 0; i < 16; i++) {
            FloatVector.zero(F).intoArray(buf, bo + L + i * L);
        }
        for (int cb = 0; cb < full; cb += bw) {
            final int ce = Math.min(full, cb + bw);
            FloatVector a00 = FloatVector.zero(F); FloatVector a01 = FloatVector.zero(F); FloatVector a02 = FloatVector.zero(F); FloatVector a03 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F); FloatVector a11 = FloatVector.zero(F); FloatVector a12 = FloatVector.zero(F); FloatVector a13 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F); FloatVector a21 = FloatVector.zero(F); FloatVector a22 = FloatVector.zero(F); FloatVector a23 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F); FloatVector a31 = FloatVector.zero(F); FloatVector a32 = FloatVector.zero(F); FloatVector a33 = FloatVector.zero(F);
            // two slots per iteration (a block spans a multiple of G = 4L columns); same FMAs in the same order
            for (int c = cb * 4; c < ce * 4; c += 8 * L) {
                FloatVector x0k = FloatVector.fromArray(F, x, px + c);
                FloatVector x1k = FloatVector.fromArray(F, x, px + c + L);
                FloatVector x2k = FloatVector.fromArray(F, x, px + c + 2 * L);
                FloatVector x3k = FloatVector.fromArray(F, x, px + c + 3 * L);
                FloatVector w0k = FloatVector.fromArray(F, tw, c);
                a00 = w0k.fma(x0k, a00);
                a01 = w0k.fma(x1k, a01);
                a02 = w0k.fma(x2k, a02);
                a03 = w0k.fma(x3k, a03);
                FloatVector w1k = FloatVector.fromArray(F, tw, c + L);
                a10 = w1k.fma(x0k, a10);
                a11 = w1k.fma(x1k, a11);
                a12 = w1k.fma(x2k, a12);
                a13 = w1k.fma(x3k, a13);
                FloatVector w2k = FloatVector.fromArray(F, tw, c + 2 * L);
                a20 = w2k.fma(x0k, a20);
                a21 = w2k.fma(x1k, a21);
                a22 = w2k.fma(x2k, a22);
                a23 = w2k.fma(x3k, a23);
                FloatVector w3k = FloatVector.fromArray(F, tw, c + 3 * L);
                a30 = w3k.fma(x0k, a30);
                a31 = w3k.fma(x1k, a31);
                a32 = w3k.fma(x2k, a32);
                a33 = w3k.fma(x3k, a33);
                final int c2 = c + 4 * L;
                FloatVector x0m = FloatVector.fromArray(F, x, px + c2);
                FloatVector x1m = FloatVector.fromArray(F, x, px + c2 + L);
                FloatVector x2m = FloatVector.fromArray(F, x, px + c2 + 2 * L);
                FloatVector x3m = FloatVector.fromArray(F, x, px + c2 + 3 * L);
                FloatVector w0m = FloatVector.fromArray(F, tw, c2);
                a00 = w0m.fma(x0m, a00);
                a01 = w0m.fma(x1m, a01);
                a02 = w0m.fma(x2m, a02);
                a03 = w0m.fma(x3m, a03);
                FloatVector w1m = FloatVector.fromArray(F, tw, c2 + L);
                a10 = w1m.fma(x0m, a10);
                a11 = w1m.fma(x1m, a11);
                a12 = w1m.fma(x2m, a12);
                a13 = w1m.fma(x3m, a13);
                FloatVector w2m = FloatVector.fromArray(F, tw, c2 + 2 * L);
                a20 = w2m.fma(x0m, a20);
                a21 = w2m.fma(x1m, a21);
                a22 = w2m.fma(x2m, a22);
                a23 = w2m.fma(x3m, a23);
                FloatVector w3m = FloatVector.fromArray(F, tw, c2 + 3 * L);
                a30 = w3m.fma(x0m, a30);
                a31 = w3m.fma(x1m, a31);
                a32 = w3m.fma(x2m, a32);
                a33 = w3m.fma(x3m, a33);
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
        finish4x4(r0, t, x, y, buf, bo);
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
        finish4x4(r0, t, x, y, buf, bo);
    }

    /** The tile's scalar tail columns and lane sums of the 16 totals at {@code buf[bo + L ...]}, into {@code y}. */
    private void finish4x4(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * cols;
        final int sr0 = (r0 + 0) * nb;
        final int sr1 = (r0 + 1) * nb;
        final int sr2 = (r0 + 2) * nb;
        final int sr3 = (r0 + 3) * nb;
        final int x0 = (t + 0) * cols;
        final int x1 = (t + 1) * cols;
        final int x2 = (t + 2) * cols;
        final int x3 = (t + 3) * cols;
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
        VectorMath.sum16(buf, bo + L, buf, bo);
        y[(t + 0) * rows + r0 + 0] = buf[bo + 0] + q00;
        y[(t + 0) * rows + r0 + 1] = buf[bo + 4] + q10;
        y[(t + 0) * rows + r0 + 2] = buf[bo + 8] + q20;
        y[(t + 0) * rows + r0 + 3] = buf[bo + 12] + q30;
        y[(t + 1) * rows + r0 + 0] = buf[bo + 1] + q01;
        y[(t + 1) * rows + r0 + 1] = buf[bo + 5] + q11;
        y[(t + 1) * rows + r0 + 2] = buf[bo + 9] + q21;
        y[(t + 1) * rows + r0 + 3] = buf[bo + 13] + q31;
        y[(t + 2) * rows + r0 + 0] = buf[bo + 2] + q02;
        y[(t + 2) * rows + r0 + 1] = buf[bo + 6] + q12;
        y[(t + 2) * rows + r0 + 2] = buf[bo + 10] + q22;
        y[(t + 2) * rows + r0 + 3] = buf[bo + 14] + q32;
        y[(t + 3) * rows + r0 + 0] = buf[bo + 3] + q03;
        y[(t + 3) * rows + r0 + 1] = buf[bo + 7] + q13;
        y[(t + 3) * rows + r0 + 2] = buf[bo + 11] + q23;
        y[(t + 3) * rows + r0 + 3] = buf[bo + 15] + q33;
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
        y[(t + 0) * rows + r0 + 0] = VectorMath.sum(buf, bo) + q00;
        s10.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 1] = VectorMath.sum(buf, bo) + q10;
        s20.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 2] = VectorMath.sum(buf, bo) + q20;
        s30.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 3] = VectorMath.sum(buf, bo) + q30;
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
        y[t * rows + r] = VectorMath.sum(buf, bo) + q00;
    }
}
