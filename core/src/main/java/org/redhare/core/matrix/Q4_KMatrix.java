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
 * GGML Q4_K weights: super-blocks of 256 columns hold eight sub-blocks of 32, each with a 6-bit scale and a
 * 6-bit min under the super-block's f16 {@code d} and {@code dmin}; {@code W = q * (d * sc) - dmin * m} with
 * 4-bit {@code q}. At load the sub-block factors become floats, {@code scale = d * sc} and
 * {@code offset = -(dmin * m)}; they are stored as {@code 16 * scale} and {@code offset - 16 * scale} (the latter
 * rounded once, at load), so that the weight is {@code fma(u, 16 * scale, offset - 16 * scale)} with
 * {@code u = 1 + q/16}, which {@link QuantKernels#nibbleUnit} makes from a nibble in two integer operations
 * (three, shift, mask and int-to-float, for {@code q} itself). The one-token kernels also broadcast each
 * sub-block's two factors once per 32 columns rather than once per L (the 4x4 tile keeps the per-L form: with
 * eight more live vectors it spills and ran at half speed). Together, decode ran 1.1-1.3x faster per thread-CPU
 * second ({@code QuickMatrixRates q4_k}, best of three alternating runs: [4864 x 1024] 10.2 -> 11.5, [896 x 4864] 10.2 -> 13.3 G
 * weights/s); 16 tokens unchanged (24 and 28). Same layout as {@link Q4_0Matrix}.
 *
 * <p>Activations stay float (see {@link Q8_0Matrix} for why). One 64-byte int load gives 8L nibbles.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of four rows form one stream: for each group of
 * {@code G = 8L} columns, each row's G/2 bytes with nibble {@code m} of int lane {@code i} holding
 * column {@code m*L + i}; then each row's {@code cols % G} tail values, one byte each. Scales are widened
 * to float at load ({@code [rows, cols / 32]}).
 */
public final class Q4_KMatrix implements WeightMatrix {
    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Integer> I = Kernels.I;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int G = 8 * Kernels.L;
    private static final int GB = G / 2; // bytes per row per group
    private static final int bw = 32;
    private static final int KPB = Math.max(1, 32 / Kernels.L);

    private final MemorySegment packed; // [rows * rowBytes] nibbles in the tile layout
    private final float[] scales;       // [rows, cols / 32] sub-block scales 16 * d * sc
    private final float[] offsets;      // [rows, cols / 32] sub-block offsets -(dmin * m) - 16 * d * sc
    private final int rows;
    private final int cols;
    private final int nb;               // blocks per row
    private final int rowBytes;         // packed bytes per row: full / 2 + tail
    private final DType dtype;          // what the file stored (Q4_K or Q4_1), for reports

    /**
     * @param q      {@code [rows, cols]} 4-bit values 0..15, one per byte, row-major
     * @param scales  {@code [rows, cols / 32]} sub-block scales: taken over, not copied (multiplied by 16 in place)
     * @param offsets {@code [rows, cols / 32]} sub-block offsets added to {@code q * scale}: taken over, not copied
     *                (16 scales subtracted in place)
     */
    public Q4_KMatrix(MemorySegment q, float[] scales, float[] offsets, int rows, int cols) {
        this(q, scales, offsets, rows, cols, DType.Q4_K);
    }

    /** As {@link #Q4_KMatrix(MemorySegment, float[], float[], int, int)}, reporting {@code dtype} as the stored type. */
    public Q4_KMatrix(MemorySegment q, float[] scales, float[] offsets, int rows, int cols, DType dtype) {
        MatrixChecks.size(q, rows, cols, 1, dtype.toString());
        this.dtype = dtype;
        if (cols % 32 != 0) {
            throw new IllegalArgumentException("Q4_K rows must be a multiple of 32 long, got " + cols);
        }
        this.rows = rows;
        this.cols = cols;
        this.nb = cols / 32;
        if (scales.length != rows * nb) {
            throw new IllegalArgumentException(dtype + " matrix [" + rows + ", " + cols + "] needs " + rows * nb + " scales, got " + scales.length);
        }
        if (offsets.length != rows * nb) {
            throw new IllegalArgumentException(dtype + " matrix [" + rows + ", " + cols + "] needs " + rows * nb + " offsets, got " + offsets.length);
        }
        // q * s + o = u * 16s + (o - 16s) with u = 1 + q/16 (QuantKernels.nibbleUnit): 16s is exact, o - 16s is
        // rounded once here.
        for (int i = 0; i < scales.length; i++) {
            scales[i] *= 16f;
            offsets[i] -= scales[i];
        }
        this.scales = scales;
        this.offsets = offsets;
        int full = cols / G * G;
        this.rowBytes = full / 2 + (cols - full);
        this.packed = QuantKernels.allocate((long) rows * rowBytes);
        repack(q, full);
    }

    /**
     * Over GGML Q4_K super-blocks as stored in GGUF: per row {@code cols / 256} blocks of f16 {@code d}, f16
     * {@code dmin}, 12 bytes of packed 6-bit scales and mins, and 128 bytes of nibbles (each 64 values: 32
     * bytes, low nibbles first).
     */
    public static Q4_KMatrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 256, 144, "Q4_K");
        int sb = cols / 256;
        float[] scales = new float[rows * (cols / 32)];
        float[] offsets = new float[rows * (cols / 32)];
        MemorySegment q = QuantKernels.allocate((long) rows * cols);
        byte[] blk = new byte[144];
        for (long b = 0; b < (long) rows * sb; b++) {
            MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 144, blk, 0, 144);
            float d = QuantKernels.half(blk, 0);
            float dmin = QuantKernels.half(blk, 2);
            Q4_KMatrix.subBlockFactors(blk, d, dmin, scales, offsets, (int) (b * 8));
            for (int chunk = 0; chunk < 4; chunk++) {
                for (int l = 0; l < 32; l++) {
                    int v = blk[16 + chunk * 32 + l] & 0xFF;
                    q.set(ValueLayout.JAVA_BYTE, b * 256 + chunk * 64 + l, (byte) (v & 0xF));
                    q.set(ValueLayout.JAVA_BYTE, b * 256 + chunk * 64 + 32 + l, (byte) (v >>> 4));
                }
            }
        }
        return new Q4_KMatrix(q, scales, offsets, rows, cols);
    }

    /**
     * Over GGML Q4_1 blocks as stored in GGUF: each row is {@code cols / 32} blocks of an f16 scale {@code d}, an
     * f16 min {@code m} and 16 bytes of nibbles (low nibbles are values 0..15, high nibbles 16..31); {@code W = q * d
     * + m}, the form of a Q4_K sub-block, so the block's scale and offset are {@code d} and {@code m}.
     */
    public static Q4_KMatrix ofGgmlQ4_1(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 20, "Q4_1");
        int nb = cols / 32;
        float[] scales = new float[rows * nb];
        float[] offsets = new float[rows * nb];
        MemorySegment q = QuantKernels.allocate((long) rows * cols);
        byte[] blk = new byte[20];
        byte[] out = new byte[32];
        for (long b = 0; b < (long) rows * nb; b++) {
            MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, b * 20, blk, 0, 20);
            scales[(int) b] = QuantKernels.half(blk, 0);
            offsets[(int) b] = QuantKernels.half(blk, 2);
            for (int j = 0; j < 16; j++) {
                int v = blk[4 + j] & 0xFF;
                out[j] = (byte) (v & 0xF);
                out[j + 16] = (byte) (v >>> 4);
            }
            MemorySegment.copy(out, 0, q, ValueLayout.JAVA_BYTE, b * 32, 32);
        }
        return new Q4_KMatrix(q, scales, offsets, rows, cols, DType.Q4_1);
    }

    /**
     * The eight sub-block factors of a Q4_K or Q5_K super-block {@code blk} (f16 {@code d} and {@code dmin} already
     * read): 6-bit scales and mins packed in bytes 4..15 (ggml's {@code get_scale_min_k4}: sub-blocks 0..3 in the low
     * six bits of bytes 4..7 and 8..11, 4..7 in the nibbles of bytes 12..15 with their top two bits in the high bits
     * of bytes 4..11), as {@code scales[at + j] = d * sc} and {@code offsets[at + j] = -(dmin * m)}.
     */
    static void subBlockFactors(byte[] blk, float d, float dmin, float[] scales, float[] offsets, int at) {
        for (int j = 0; j < 8; j++) {
            int sc;
            int m;
            if (j < 4) {
                sc = blk[4 + j] & 63;
                m = blk[4 + j + 4] & 63;
            } else {
                sc = (blk[4 + j + 4] & 0xF) | ((blk[4 + j - 4] & 0xFF) >>> 6) << 4;
                m = ((blk[4 + j + 4] & 0xFF) >>> 4) | ((blk[4 + j] & 0xFF) >>> 6) << 4;
            }
            scales[at + j] = d * sc;
            offsets[at + j] = -(dmin * m);
        }
    }

    private void repack(MemorySegment q, int full) {
        final int L = Kernels.L;
        int tl = cols - full;
        byte[] row = new byte[cols];
        byte[] out = new byte[GB];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(q, ValueLayout.JAVA_BYTE, (long) r * cols, row, 0, cols);
            for (int c = 0; c < cols; c++) {
                if ((row[c] & 0xF0) != 0) {
                    throw new IllegalArgumentException("Q4_K value [" + r + ", " + c + "] is " + row[c] + "; expected 0..15");
                }
            }
            int r0 = r - r % QuantKernels.TILE;
            int h = Math.min(QuantKernels.TILE, rows - r0);
            int ri = r - r0;
            long base = (long) r0 * rowBytes;
            for (int c = 0; c < full; c += G) {
                java.util.Arrays.fill(out, (byte) 0);
                for (int i = 0; i < L; i++) {
                    for (int m = 0; m < 8; m++) {
                        out[4 * i + (m >> 1)] |= (byte) (row[c + m * L + i] << ((m & 1) * 4));
                    }
                }
                MemorySegment.copy(out, 0, packed, ValueLayout.JAVA_BYTE, base + (long) (c / 2) * h + (long) ri * GB, GB);
            }
            MemorySegment.copy(row, full, packed, ValueLayout.JAVA_BYTE, base + (long) (full / 2) * h + (long) ri * tl, tl);
        }
    }

    /** The 4-bit value of {@code [r, c]}. */
    private int value(int r, int c) {
        final int L = Kernels.L;
        int full = cols / G * G;
        int r0 = r - r % QuantKernels.TILE;
        int h = Math.min(QuantKernels.TILE, rows - r0);
        int ri = r - r0;
        long base = (long) r0 * rowBytes;
        if (c >= full) {
            return packed.get(ValueLayout.JAVA_BYTE, base + (long) (full / 2) * h + (long) ri * (cols - full) + (c - full));
        }
        int gs = c / G * G;
        int w = c - gs;
        int m = w / L;
        int i = w % L;
        int b = packed.get(ValueLayout.JAVA_BYTE, base + (long) (gs / 2) * h + (long) ri * GB + 4L * i + (m >> 1)) & 0xFF;
        return (b >>> ((m & 1) * 4)) & 0xF;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public DType dtype() { return dtype; }
    @Override public long bytes() { return (long) rows * rowBytes + (long) rows * nb * 8; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        if (n >= TILE_MIN_TOKENS) {
            final int full = cols / G * G;
            float[] panels = pool.scratch(Math.max(1, n / 4 * 4 * full));
            Kernels.packTokens4(x, n, cols, full, Kernels.PAIR_BLOCK, panels, 0); // [block][token 0..3][2L] per 4-token group
            final int group = FloatTiles.ROWS * 4 * Kernels.L;
            final int need = FloatTiles.ROWS * FloatTiles.chunkColumns(full) + FloatTiles.tokenBlock(n, cols) / 4 * group + group + 16
                    + QuantKernels.laneScratch();
            int rowGrain = (Kernels.rowGrain(rows, pool.threads()) + FloatTiles.ROWS - 1) / FloatTiles.ROWS * FloatTiles.ROWS;
            pool.forRange(rows, rowGrain, FloatTiles.ROWS, (r0, r1, w) -> prompt(x, panels, n, y, r0, r1, pool.workerScratch(w, need)));
            return;
        }
        float[] buf = pool.scratch(pool.threads() * QuantKernels.laneScratch());
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1,
                (t0, t1, w) -> run(x, n, y, t0, t1, buf, w * QuantKernels.laneScratch()));
    }

    /**
     * From this many tokens (a prompt, or a decode step of many users) five rows are widened once per token block and
     * column chunk into the {@link FloatTiles} layout (the weights {@code fma(u, 16 scale, offset - 16 scale)} the
     * register kernels compute) and the shared 5-row x 4-token micro-kernel runs on plain loads; below it every four
     * tokens widen the weights again in registers ({@link #tile4x4}). Each accumulator lane takes its columns in
     * order on both paths, so the bits do not depend on the path.
     */
    private static final int TILE_MIN_TOKENS = 16;

    /** Rows {@code r0 .. r1} for {@code n} tokens on the float tile (see {@link #TILE_MIN_TOKENS}); as {@link Q8_0Matrix}'s prompt path. */
    private void prompt(float[] x, float[] panels, int n, float[] y, int r0, int r1, float[] buf) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int block = FloatTiles.tokenBlock(n, cols);
        final int chunk = FloatTiles.chunkColumns(full);
        final int h5 = FloatTiles.ROWS;
        final int group = h5 * 4 * L;              // floats of one token group's accumulators
        final int accs = h5 * chunk;               // accumulators carried from one column chunk to the next
        final int sums = accs + block / 4 * group; // the last chunk's accumulators and their lane sums
        final int one = sums + group + 16;         // the one-row kernel's lane buffer
        for (int t0 = 0; t0 < n; t0 += block) {
            final int t1 = Math.min(n, t0 + block);
            final int tails = t0 + (t1 - t0) / 4 * 4; // tokens past the last full group of four
            int r = r0;
            for (; r + h5 <= r1; r += h5) {
                int c0 = 0;
                do { // at least once: rows shorter than one group still get their tails and stores
                    int c1 = Math.min(full, c0 + chunk);
                    widen5(r, buf, c0, c1);
                    for (int t = t0; t + 4 <= t1; t += 4) {
                        int acc = accs + (t - t0) / 4 * group;
                        int g = (t - t0) / 4;
                        if (g <= 1) { // the first two token groups fetch the nibbles the next widen reads (QuantKernels#fetchStart)
                            long ta = QuantKernels.fetchStart(rowBytes, c1 < full ? r : r + h5, (c1 < full ? c1 : 0) / 2, g);
                            FloatTiles.tile5tokens4Fetching(buf, c0, c1, panels, t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                    c0 == 0 ? 0 : acc, c1 == full ? sums : acc, packed, ta, ta + 64, 128, packed.byteSize() - 1);
                        } else {
                            FloatTiles.tile5tokens4(buf, c0, c1, panels, t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                    c0 == 0 ? 0 : acc, c1 == full ? sums : acc);
                        }
                        if (c1 == full) {
                            finish5(buf, sums, x, y, r, t);
                        }
                    }
                    c0 = c1;
                } while (c0 < full);
                for (int t = tails; t < t1; t++) {
                    for (int i = 0; i < h5; i++) {
                        row1(r + i, QuantKernels.tileHeight(rows, r + i), t, x, y, buf, one);
                    }
                }
            }
            for (; r < r1; r++) {
                for (int t = t0; t < t1; t++) {
                    row1(r, QuantKernels.tileHeight(rows, r), t, x, y, buf, one);
                }
            }
        }
    }

    /** Whole groups of columns {@code c0 .. c1} of rows {@code r .. r+4} as weights, in the {@link FloatTiles} layout. */
    private void widen5(int r, float[] tile, int c0, int c1) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int h5 = FloatTiles.ROWS;
        for (int i = 0; i < h5; i++) {
            final int row = r + i;
            final int tr = row - row % QuantKernels.TILE;
            final int th = Math.min(QuantKernels.TILE, rows - tr);
            final int sr = row * nb;
            final long base = (long) tr * rowBytes + (long) (row - tr) * GB;
            for (int c = c0; c < c1; c += G) {
                IntVector v = IntVector.fromMemorySegment(I, packed, base + (long) (c / 2) * th, ByteOrder.LITTLE_ENDIAN);
                for (int k = 0; k < 8; k++) {
                    final int b = (c + k * L) >> 5;
                    final int col = c - c0 + k * L;
                    QuantKernels.nibbleUnit(v, k).fma(scales[sr + b], offsets[sr + b]).intoArray(tile, col / B * h5 * B + i * B + col % B);
                }
            }
        }
    }

    /** Lane sums of a five-row group's 20 accumulators at {@code buf[sums ...]} plus each row's tail, into {@code y}. */
    private void finish5(float[] buf, int sums, float[] x, float[] y, int r, int t) {
        final int L = Kernels.L;
        VectorMath.sum16(buf, sums, buf, sums + 20 * L);
        for (int j = 0; j < 4; j++) {
            final int xo = (t + j) * cols;
            final int yo = (t + j) * rows + r;
            for (int i = 0; i < 4; i++) {
                y[yo + i] = buf[sums + 20 * L + 4 * j + i] + tailSum(r + i, x, xo);
            }
            y[yo + 4] = VectorMath.sum(buf, sums + (16 + j) * L) + tailSum(r + 4, x, xo);
        }
    }

    /** Row {@code r}'s columns past the last full group, {@code weight * x} added in order from 0 (as the register kernels do). */
    private float tailSum(int r, float[] x, int xo) {
        final int full = cols / G * G;
        final int tl = cols - full;
        final int tr = r - r % QuantKernels.TILE;
        final long toff = (long) tr * rowBytes + (long) (full / 2) * QuantKernels.tileHeight(rows, r) + (long) (r - tr) * tl;
        float q = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            q += Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + i)), scales[r * nb + cb], offsets[r * nb + cb]) * x[xo + full + i];
        }
        return q;
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
            dst[off + c] = Math.fma(QuantKernels.nibbleUnit(value(r, c)), scales[r * nb + c / 32], offsets[r * nb + c / 32]);
        }
    }

    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+3}. */
    private void tile4x4(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * rowBytes;
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
            for (int k = 0; k < 8; k++) {
            b = (c + k * L) >> 5;
            FloatVector w0k = QuantKernels.nibbleUnit(v0, k).fma(scales[sr0 + b], offsets[sr0 + b]);
            FloatVector w1k = QuantKernels.nibbleUnit(v1, k).fma(scales[sr1 + b], offsets[sr1 + b]);
            FloatVector w2k = QuantKernels.nibbleUnit(v2, k).fma(scales[sr2 + b], offsets[sr2 + b]);
            FloatVector w3k = QuantKernels.nibbleUnit(v3, k).fma(scales[sr3 + b], offsets[sr3 + b]);
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
        final int tl = cols - full;
        final long toff = base + (long) (full / 2) * 4;
        float q00 = 0f; float q01 = 0f; float q02 = 0f; float q03 = 0f;
        float q10 = 0f; float q11 = 0f; float q12 = 0f; float q13 = 0f;
        float q20 = 0f; float q21 = 0f; float q22 = 0f; float q23 = 0f;
        float q30 = 0f; float q31 = 0f; float q32 = 0f; float q33 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i)), scales[sr0 + cb], offsets[sr0 + cb]);
            final float u1 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + 1L * tl + i)), scales[sr1 + cb], offsets[sr1 + cb]);
            final float u2 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + 2L * tl + i)), scales[sr2 + cb], offsets[sr2 + cb]);
            final float u3 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + 3L * tl + i)), scales[sr3 + cb], offsets[sr3 + cb]);
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
        y[(t + 0) * rows + r0 + 0] = VectorMath.sum(buf, bo) + q00;
        a10.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 1] = VectorMath.sum(buf, bo) + q10;
        a20.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 2] = VectorMath.sum(buf, bo) + q20;
        a30.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 3] = VectorMath.sum(buf, bo) + q30;
        a01.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 0] = VectorMath.sum(buf, bo) + q01;
        a11.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 1] = VectorMath.sum(buf, bo) + q11;
        a21.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 2] = VectorMath.sum(buf, bo) + q21;
        a31.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 3] = VectorMath.sum(buf, bo) + q31;
        a02.intoArray(buf, bo);
        y[(t + 2) * rows + r0 + 0] = VectorMath.sum(buf, bo) + q02;
        a12.intoArray(buf, bo);
        y[(t + 2) * rows + r0 + 1] = VectorMath.sum(buf, bo) + q12;
        a22.intoArray(buf, bo);
        y[(t + 2) * rows + r0 + 2] = VectorMath.sum(buf, bo) + q22;
        a32.intoArray(buf, bo);
        y[(t + 2) * rows + r0 + 3] = VectorMath.sum(buf, bo) + q32;
        a03.intoArray(buf, bo);
        y[(t + 3) * rows + r0 + 0] = VectorMath.sum(buf, bo) + q03;
        a13.intoArray(buf, bo);
        y[(t + 3) * rows + r0 + 1] = VectorMath.sum(buf, bo) + q13;
        a23.intoArray(buf, bo);
        y[(t + 3) * rows + r0 + 2] = VectorMath.sum(buf, bo) + q23;
        a33.intoArray(buf, bo);
        y[(t + 3) * rows + r0 + 3] = VectorMath.sum(buf, bo) + q33;
    }
    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+0}. */
    private void tile4x1(int r0, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * rowBytes;
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
            for (int kb = 0; kb < 8; kb += KPB) {
            b = (c + kb * L) >> 5;
            FloatVector s0 = FloatVector.broadcast(F, scales[sr0 + b]), o0 = FloatVector.broadcast(F, offsets[sr0 + b]);
            FloatVector s1 = FloatVector.broadcast(F, scales[sr1 + b]), o1 = FloatVector.broadcast(F, offsets[sr1 + b]);
            FloatVector s2 = FloatVector.broadcast(F, scales[sr2 + b]), o2 = FloatVector.broadcast(F, offsets[sr2 + b]);
            FloatVector s3 = FloatVector.broadcast(F, scales[sr3 + b]), o3 = FloatVector.broadcast(F, offsets[sr3 + b]);
            for (int k = kb; k < kb + KPB; k++) {
            FloatVector w0k = QuantKernels.nibbleUnit(v0, k).fma(s0, o0);
            FloatVector w1k = QuantKernels.nibbleUnit(v1, k).fma(s1, o1);
            FloatVector w2k = QuantKernels.nibbleUnit(v2, k).fma(s2, o2);
            FloatVector w3k = QuantKernels.nibbleUnit(v3, k).fma(s3, o3);
            FloatVector x0k = FloatVector.fromArray(F, x, x0 + c + k * L);
            a00 = w0k.fma(x0k, a00);
            a10 = w1k.fma(x0k, a10);
            a20 = w2k.fma(x0k, a20);
            a30 = w3k.fma(x0k, a30);
            }
            }
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 2) * 4;
        float q00 = 0f;
        float q10 = 0f;
        float q20 = 0f;
        float q30 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i)), scales[sr0 + cb], offsets[sr0 + cb]);
            final float u1 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + 1L * tl + i)), scales[sr1 + cb], offsets[sr1 + cb]);
            final float u2 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + 2L * tl + i)), scales[sr2 + cb], offsets[sr2 + cb]);
            final float u3 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + 3L * tl + i)), scales[sr3 + cb], offsets[sr3 + cb]);
            q00 += u0 * x[x0 + full + i];
            q10 += u1 * x[x0 + full + i];
            q20 += u2 * x[x0 + full + i];
            q30 += u3 * x[x0 + full + i];
        }
        a00.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 0] = VectorMath.sum(buf, bo) + q00;
        a10.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 1] = VectorMath.sum(buf, bo) + q10;
        a20.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 2] = VectorMath.sum(buf, bo) + q20;
        a30.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 3] = VectorMath.sum(buf, bo) + q30;
    }
    /** Row {@code r} of a tile of {@code h} rows, token {@code t}; same summation order as the tile kernels. */
    private void row1(int r, int h, int t, float[] x, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int r0 = r - r % QuantKernels.TILE;
        final int ri = r - r0;
        final long base = (long) r0 * rowBytes;
        final int sr0 = r * nb;
        final int x0 = t * cols;
        int b;
        FloatVector a00 = FloatVector.zero(F);
        final long step = (long) h * GB;
        long off = base + (long) ri * GB;
        for (int c = 0; c < full; c += G, off += step) {
            IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            for (int kb = 0; kb < 8; kb += KPB) {
            b = (c + kb * L) >> 5;
            FloatVector s0 = FloatVector.broadcast(F, scales[sr0 + b]), o0 = FloatVector.broadcast(F, offsets[sr0 + b]);
            for (int k = kb; k < kb + KPB; k++) {
            FloatVector w0k = QuantKernels.nibbleUnit(v0, k).fma(s0, o0);
            FloatVector x0k = FloatVector.fromArray(F, x, x0 + c + k * L);
            a00 = w0k.fma(x0k, a00);
            }
            }
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 2) * h + (long) ri * tl;
        float q00 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) / bw;
            final float u0 = Math.fma(QuantKernels.nibbleUnit(packed.get(ValueLayout.JAVA_BYTE, toff + i)), scales[sr0 + cb], offsets[sr0 + cb]);
            q00 += u0 * x[x0 + full + i];
        }
        a00.intoArray(buf, bo);
        y[t * rows + r] = VectorMath.sum(buf, bo) + q00;
    }
}
