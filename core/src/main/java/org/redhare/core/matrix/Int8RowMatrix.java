package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.redhare.core.DType;
import org.redhare.core.NativeMemory;
import org.redhare.core.Parallel;
import org.redhare.core.ops.VectorMath;

/**
 * int8 codes with one float scale per row ({@code W = q * s[r]}), one token at a time: the coarse copy of a
 * {@link ScreenedHead}. Its loop widens a code in two shifts and a conversion and multiplies with no scale (the row's
 * scale multiplies the row's sum once), as {@link Fp8BlockMatrix}'s does in two shifts and an AND; Q8_0's scales per 32
 * columns cost a broadcast and a multiply more per vector. Like the FP8 loop it takes two tiles in turns of
 * {@link #STREAM_COLUMNS} columns, two sequential streams in flight (see {@link Fp8BlockMatrix}'s one-token notes).
 * Several tokens run the one-token pass once each: nothing calls this matrix with more. On AVX-512 hosts the same
 * arithmetic runs in machine code ({@link NativeKernels}; same bits, one stream prefetched ahead), and so it does on
 * AVX2 ones ({@link Avx2Kernels#int8}).
 *
 * <p>Layout: {@link QuantKernels#repackBytes}'s tiles of four rows (byte {@code k} of int lane {@code i} of a group is
 * column {@code kL + i}), each row's columns past the last whole group in order after the tile's groups.
 */
final class Int8RowMatrix implements WeightMatrix {
    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Integer> I = Kernels.I;
    private static final int G = 4 * Kernels.L;
    private static final int TILE = QuantKernels.TILE;
    /** Columns per turn of each tile: as {@link Fp8BlockMatrix}'s. */
    private static final int STREAM_COLUMNS = 512;

    private final MemorySegment packed;
    private final float[] scales; // [rows]
    private final int rows;
    private final int cols;

    /** Over {@code packed}, already in the tile layout ({@link QuantKernels#packTile}); {@code scales} one per row. */
    Int8RowMatrix(MemorySegment packed, float[] scales, int rows, int cols) {
        MatrixChecks.size(packed, rows, cols, 1, "int8");
        if (scales.length != rows) {
            throw new IllegalArgumentException("int8 matrix [" + rows + ", " + cols + "] needs " + rows + " scales, got " + scales.length);
        }
        this.packed = packed;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return DType.I8; }
    @Override public long bytes() { return (long) rows * cols + 4L * rows; }

    /** Row {@code r}'s scale: its sums times this are its products. */
    float scale(int r) {
        return scales[r];
    }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        int tiles = (rows + TILE - 1) / TILE;
        if ((NativeKernels.available() || Avx2Kernels.int8Available()) && cols >= G && packed.isNative()) { // the machine code takes an address
            final int full = cols / G * G;
            final long ahead = NativeKernels.rowsAhead(pool.threads());
            for (int t = 0; t < n; t++) {
                final int xo = t * cols;
                final int yo = t * rows;
                pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1,
                        (t0, t1, w) -> runNative(x, xo, y, yo, t0, t1, full, pool.workerScratch(w, full + 4 * NativeKernels.TILES), ahead));
            }
            return;
        }
        for (int t = 0; t < n; t++) {
            final int xo = t * cols;
            final int yo = t * rows;
            pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1, (t0, t1, w) -> {
                float[] buf = pool.workerScratch(w, 8 * Kernels.L);
                int h = (t1 - t0) / 2;
                for (int i = 0; i < h; i++) {
                    tiles2(t0 + i, t0 + h + i, x, xo, y, yo, buf);
                }
                if (2 * h < t1 - t0) {
                    tiles2(t1 - 1, -1, x, xo, y, yo, buf);
                }
            });
        }
    }

    /**
     * Whether {@link #dots} runs here: machine code for integer products (AVX512-VNNI with 16-float vectors, AVX2 with 8),
     * whole tiles ({@code rows % 4 == 0}), whole groups of {@code 4 L} columns.
     */
    boolean dotsAvailable() {
        return dotsAvailable(rows, cols) && packed.isNative();
    }

    /** Whether {@link #dots} would run here for a matrix of this shape in native memory. */
    static boolean dotsAvailable(int rows, int cols) {
        boolean code = G == 64 ? NativeKernels.dotsAvailable() : G == 32 && Avx2Kernels.dotsAvailable();
        return code && rows % TILE == 0 && cols % G == 0;
    }

    /**
     * Integer products of every row with {@code 4 groups} tokens' byte activations ({@link NativeKernels#i8Dots}, {@link
     * Avx2Kernels#i8Dots}: code plus 128, token {@code t} at {@code xq[t cols ..]} in the codes' column order, {@link
     * #orderColumns}): row {@code r}, token {@code t} at {@code out[r 4 groups + t]}, the sum of (code + {@link
     * #dotsOffset}) times the weight codes; {@code groups} 0: one token, row {@code r} at {@code out[r]}. Over the pool's
     * threads, in runs of tiles. Only where {@link #dotsAvailable}.
     */
    void dots(Parallel pool, byte[] xq, int groups, int[] out) {
        if (!dotsAvailable()) {
            throw new IllegalStateException("integer products need VNNI machine code and whole tiles and groups");
        }
        int tiles = rows / TILE;
        int ntok = groups == 0 ? 1 : 4 * groups;
        pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1, (t0, t1, w) -> {
            int run = groups == 0 ? NativeKernels.DECODE_TILES : NativeKernels.TILES; // one token: the one-token kernels' runs
            for (int tile = t0; tile < t1; tile += run) {
                int n = Math.min(run, t1 - tile);
                if (G == 64) {
                    NativeKernels.i8Dots(packed, (long) tile * TILE * cols, n, cols, cols, groups, xq, out, tile * TILE * ntok);
                } else {
                    Avx2Kernels.i8Dots(packed, (long) tile * TILE * cols, n, cols, cols, groups, xq, out, tile * TILE * ntok);
                }
            }
        });
    }

    /**
     * What {@link #dots}' sums add to each activation's code (they are those of code plus this times the weights): 128
     * where {@code VPDPBUSD} multiplies them as unsigned bytes, 0 where AVX2 alone multiplies signed codes ({@link
     * Avx2Kernels#dotsOffset}).
     */
    static int dotsOffset() {
        return G == 64 ? 128 : Avx2Kernels.dotsOffset();
    }

    /**
     * Where column {@code c} of a row goes in the codes' order within its group of {@code 4 L} columns (byte {@code b} of
     * 32-bit lane {@code l} holds column {@code L b + l}), for activations laid out as {@link #dots} reads them.
     */
    static int orderColumns(int c) {
        int g = c / G * G, i = c - g;
        return g + 4 * (i % Kernels.L) + i / Kernels.L;
    }

    /** Row {@code r}'s codes, in column order (for tests). */
    void codes(int r, byte[] dst) {
        final int tile = r / TILE * TILE, h = Math.min(TILE, rows - tile), ri = r - tile;
        final int full = cols / G * G;
        final long base = (long) tile * cols;
        for (int c = 0; c < full; c++) {
            int g = c / G * G, i = c - g;
            dst[c] = packed.get(ValueLayout.JAVA_BYTE, base + (long) g * h + ri * G + 4 * (i % Kernels.L) + i / Kernels.L);
        }
        for (int c = full; c < cols; c++) {
            dst[c] = packed.get(ValueLayout.JAVA_BYTE, base + (long) full * h + (long) ri * (cols - full) + (c - full));
        }
    }

    /**
     * Tiles {@code t0 .. t1} through {@link NativeKernels}: whole tiles in runs, one sequential stream prefetched ahead, each
     * row's sum then finished as {@link #finish} does (tail, scale), so the same bits as {@link #tiles2}. The activations
     * are copied to {@code buf[0 .. full]}, the sums go after them.
     */
    private void runNative(float[] x, int xo, float[] y, int yo, int t0, int t1, int full, float[] buf, long ahead) {
        System.arraycopy(x, xo, buf, 0, full);
        final int whole = Math.min(t1, rows / TILE); // a short last tile goes row by row
        for (int tile = t0; tile < whole; tile += NativeKernels.TILES) {
            int n = Math.min(NativeKernels.TILES, whole - tile);
            if (NativeKernels.available()) {
                NativeKernels.int8(packed, (long) tile * TILE * cols, n, cols, full, buf, 0, full, ahead);
            } else { // 8-float vectors on AVX2
                Avx2Kernels.int8(packed, (long) tile * TILE * cols, n, cols, full, buf, 0, full, ahead);
            }
            for (int i = 0, r0 = tile * TILE; i < n * TILE; i++) {
                int r = r0 + i;
                y[yo + r] = (buf[full + i] + tail(r - r % TILE, r % TILE, x, xo)) * scales[r];
            }
        }
        for (int tile = Math.max(t0, whole); tile < t1; tile++) {
            finish(tile * TILE, false, x, xo, y, yo, buf, 0);
        }
    }

    /** Tiles {@code ta} and {@code tb} (-1: none) in turns; a short last tile row by row. */
    private void tiles2(int ta, int tb, float[] x, int xo, float[] y, int yo, float[] buf) {
        final int L = Kernels.L;
        int ra = ta * TILE;
        int rb = tb * TILE;
        boolean a = ra + TILE <= rows;
        boolean b = tb >= 0 && rb + TILE <= rows;
        java.util.Arrays.fill(buf, 0, 8 * L, 0f);
        int full = cols / G * G;
        for (int c0 = 0; c0 < full; c0 += STREAM_COLUMNS) {
            int c1 = Math.min(full, c0 + STREAM_COLUMNS);
            if (a) {
                stream4(ra, x, xo, c0, c1, buf, 0);
            }
            if (b) {
                stream4(rb, x, xo, c0, c1, buf, 4 * L);
            }
        }
        finish(ra, a, x, xo, y, yo, buf, 0);
        if (tb >= 0) {
            finish(rb, b, x, xo, y, yo, buf, 4 * L);
        }
    }

    private void finish(int r0, boolean full, float[] x, int xo, float[] y, int yo, float[] buf, int bo) {
        if (!full) {
            for (int r = r0; r < rows; r++) {
                y[yo + r] = rowScalar(r, x, xo);
            }
            return;
        }
        for (int i = 0; i < TILE; i++) {
            y[yo + r0 + i] = (VectorMath.sum(buf, bo + i * Kernels.L) + tail(r0, i, x, xo)) * scales[r0 + i];
        }
    }

    /** Columns {@code c0 .. c1} (whole groups) of the full tile at {@code r0}; its four accumulators at {@code buf[ao ..]}. */
    private void stream4(int r0, float[] x, int xo, int c0, int c1, float[] buf, int ao) {
        final MemorySegment packed = NativeMemory.typed(this.packed);
        final int L = Kernels.L;
        final long o = (long) r0 * cols;
        FloatVector a0 = FloatVector.fromArray(F, buf, ao), a1 = FloatVector.fromArray(F, buf, ao + L);
        FloatVector a2 = FloatVector.fromArray(F, buf, ao + 2 * L), a3 = FloatVector.fromArray(F, buf, ao + 3 * L);
        for (int c = c0; c < c1; c += G) {
            final long q = o + 4L * c; // linear in c, so C2 drops the segment's bounds checks from the loop
            IntVector v;
            FloatVector x0, x1, x2, x3;
            v = IntVector.fromMemorySegment(I, packed, q, ByteOrder.LITTLE_ENDIAN);
            x0 = FloatVector.fromArray(F, x, xo + c);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x0, a0);
            x1 = FloatVector.fromArray(F, x, xo + c + L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x1, a0);
            x2 = FloatVector.fromArray(F, x, xo + c + 2 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x2, a0);
            x3 = FloatVector.fromArray(F, x, xo + c + 3 * L);
            a0 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x3, a0);
            v = IntVector.fromMemorySegment(I, packed, q + G, ByteOrder.LITTLE_ENDIAN);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x0, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x1, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x2, a1);
            a1 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x3, a1);
            v = IntVector.fromMemorySegment(I, packed, q + 2L * G, ByteOrder.LITTLE_ENDIAN);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x0, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x1, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x2, a2);
            a2 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x3, a2);
            v = IntVector.fromMemorySegment(I, packed, q + 3L * G, ByteOrder.LITTLE_ENDIAN);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x0, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x1, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x2, a3);
            a3 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(x3, a3);
        }
        a0.intoArray(buf, ao);
        a1.intoArray(buf, ao + L);
        a2.intoArray(buf, ao + 2 * L);
        a3.intoArray(buf, ao + 3 * L);
    }

    /** Columns past the last whole group of row {@code ri} of the tile at {@code r0}, in order. */
    private float tail(int r0, int ri, float[] x, int xo) {
        int full = cols / G * G;
        int tl = cols - full;
        int h = Math.min(TILE, rows - r0);
        long base = (long) r0 * cols + (long) full * h + (long) ri * tl;
        float s = 0f;
        for (int j = 0; j < tl; j++) {
            s += packed.get(ValueLayout.JAVA_BYTE, base + j) * x[xo + full + j];
        }
        return s;
    }

    /** A row of a short last tile, scalar. */
    private float rowScalar(int r, float[] x, int xo) {
        float[] w = new float[cols];
        row(r, w, 0);
        float s = 0f;
        for (int c = 0; c < cols; c++) {
            s += w[c] * x[xo + c];
        }
        return s;
    }

    @Override
    public void row(int r, float[] dst, int off) {
        int full = cols / G * G;
        int tl = cols - full;
        int r0 = r - r % TILE;
        int ri = r - r0;
        int h = Math.min(TILE, rows - r0);
        long base = (long) r0 * cols;
        for (int c = 0; c < full; c++) {
            int g = c / G;
            int k = (c % G) / Kernels.L;
            int i = c % Kernels.L;
            dst[off + c] = packed.get(ValueLayout.JAVA_BYTE, base + (long) g * G * h + (long) ri * G + 4L * i + k) * scales[r];
        }
        for (int j = 0; j < tl; j++) {
            dst[off + full + j] = packed.get(ValueLayout.JAVA_BYTE, base + (long) full * h + (long) ri * tl + j) * scales[r];
        }
    }
}
