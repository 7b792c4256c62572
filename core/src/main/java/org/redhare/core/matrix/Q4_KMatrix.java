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
 * 4-bit {@code q}. At load the sub-block factors become floats, {@code s = d * sc} and {@code o = -(dmin * m)}
 * (both exact: an 11-bit significand times a 6-bit integer).
 *
 * <p>Activations stay float (see {@link Q8_0Matrix} for why). The kernels take one 32-column block a turn: an int
 * load at the block's byte in its group puts the block's nibbles at the bottom of each lane (step j of the block in
 * bits 4j..4j+3; 4-lane vectors take steps 4..7 from a second load two bytes on), and an AND with a constant mask and
 * a conversion give {@code q * 2^4j}, exact; that is multiplied by the block's {@code s}, and the activations of step
 * j carry {@code 2^-4j} ({@link QuantKernels#stepScaled}, once per call), so every lane adds {@code (q s) x} in column
 * order, the same products on every path. The offsets are a short dot product per (row, token) of the row's
 * {@code o} with the activations' 32-column block sums, L blocks per FMA, continued in the same accumulator after the
 * columns; the column tail (rows whose length is not a multiple of 8L) is scalar, {@code fma(q, s, o) * x}. Four
 * operations per L weights (AND, convert, multiply, FMA) where the float {@code u = 1 + q/16} used before took five
 * (shift, AND, OR, FMA by the scale and offset, FMA). The one-token kernel ({@link #tile4x1}) went from 6.1 to 12.6-12.8
 * G weights/s on most shapes ({@code QuickMatrixRates q4_k}, docs/PERFORMANCE.md, sixteenth session).
 *
 * <p>How C2 compiles these kernels decided most of that, so they are written against it ({@link #tile4x1} lists what
 * was measured): the steps are looped over a count held in a field (over a constant count C2 unrolled the loop,
 * hoisted its activation loads and spilled them; written out, the steps passed its inlining budget); no helper
 * method returns a vector (a helper compiled on its own first is then too large to inline, and every call boxes its
 * result: 1.8 tok/s); and no vector shift (its code took the inlining budget). Per-block folds (Q4_0's three
 * operations) would need the prompt path to fold per block too, which the shared {@link FloatTiles} micro-kernel
 * cannot; Q4_K_M prompts stay on it.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of four rows form one stream: for each group of
 * {@code G = 8L} columns, each row's G/2 bytes with nibble {@code m} of int lane {@code i} holding
 * column {@code m*L + i}; then each row's {@code cols % G} tail values, one byte each. Scales are widened
 * to float at load ({@code [rows, cols / 32]}), offsets too, each row's padded with zeros to a multiple of L.
 */
public final class Q4_KMatrix implements WeightMatrix {
    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Integer> I = Kernels.I;
    private static final int G = 8 * Kernels.L;
    private static final int GB = G / 2; // bytes per row per group
    private static final int bw = 32;
    private static final int KPB = QuantKernels.NIBBLE_KPB;
    private static final int[] MASKS = QuantKernels.NIBBLE_MASKS;
    /** Lane-buffer floats per worker. */
    private static final int LANE_BUF = Kernels.L;

    private final MemorySegment packed; // [rows * rowBytes] nibbles in the tile layout
    private final float[] scales;       // [rows, nb] sub-block scales d * sc
    private final float[] offsets;      // [rows, nbL] sub-block offsets -(dmin * m), each row padded with zeros
    private final int rows;
    private final int cols;
    private final int nb;               // blocks per row
    private final int nbL;              // nb rounded up to a multiple of L: the offsets' row stride
    private final int fbpL;             // blocks of the vector part (full / 32) rounded up to a multiple of L
    private final int rowBytes;         // packed bytes per row: full / 2 + tail
    private final int maskSteps = QuantKernels.NIBBLE_PERIOD; // a field, not a constant: see tile4x1
    private final DType dtype;          // what the file stored (Q4_K or Q4_1), for reports

    /**
     * @param q       {@code [rows, cols]} 4-bit values 0..15, one per byte, row-major
     * @param scales  {@code [rows, cols / 32]} sub-block scales: taken over, not copied
     * @param offsets {@code [rows, cols / 32]} sub-block offsets added to {@code q * scale}
     */
    public Q4_KMatrix(MemorySegment q, float[] scales, float[] offsets, int rows, int cols) {
        this(q, scales, offsets, rows, cols, DType.Q4_K);
    }

    /** As {@link #Q4_KMatrix(MemorySegment, float[], float[], int, int)}, reporting {@code dtype} as the stored type. */
    public Q4_KMatrix(MemorySegment q, float[] scales, float[] offsets, int rows, int cols, DType dtype) {
        MatrixChecks.size(q, rows, cols, 1, dtype.toString());
        this.dtype = dtype;
        if (cols % 32 != 0 || Kernels.L > 32) {
            throw new IllegalArgumentException(dtype + " rows must be a multiple of 32 long, got " + cols);
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
        final int L = Kernels.L;
        this.scales = scales;
        this.nbL = (nb + L - 1) / L * L;
        this.offsets = new float[rows * nbL];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(offsets, r * nb, this.offsets, r * nbL, nb);
        }
        int full = cols / G * G;
        this.fbpL = (full / 32 + L - 1) / L * L;
        this.rowBytes = full / 2 + (cols - full);
        this.packed = QuantKernels.allocate((long) rows * rowBytes + QuantKernels.NIBBLE_PAST_END);
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
    @Override public long bytes() { return (long) rows * rowBytes + (long) rows * nb * 4 + (long) rows * fbpL * 4; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        final int full = cols / G * G;
        final int xsb = n * cols;           // the block sums, after the step-scaled activations
        final int after = xsb + n * fbpL;   // then the 4-token panels (prompt path) or each worker's lane buffer
        final boolean widened = n >= TILE_MIN_TOKENS;
        final float[] buf = pool.scratch(after + (widened ? Math.max(1, n / 4 * 4 * full) : pool.threads() * LANE_BUF));
        QuantKernels.stepScaled(x, n, cols, full, buf, xsb, fbpL, 1f);
        if (widened) {
            Kernels.packTokens4(buf, n, cols, full, Kernels.PAIR_BLOCK, buf, after); // [block][token 0..3][2L] per 4-token group
            final int group = FloatTiles.ROWS * 4 * Kernels.L;
            final int need = FloatTiles.ROWS * FloatTiles.chunkColumns(full) + FloatTiles.tokenBlock(n, cols) / 4 * group + group + 16 + LANE_BUF;
            int rowGrain = (Kernels.rowGrain(rows, pool.threads()) + FloatTiles.ROWS - 1) / FloatTiles.ROWS * FloatTiles.ROWS;
            pool.forRange(rows, rowGrain, FloatTiles.ROWS, (r0, r1, w) -> prompt(buf, xsb, after, n, y, r0, r1, pool.workerScratch(w, need)));
            return;
        }
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1,
                (t0, t1, w) -> run(buf, xsb, n, y, t0, t1, buf, after + w * LANE_BUF));
    }

    /**
     * From this many tokens (a prompt, or a decode step of many users) five rows are widened once per token block and
     * column chunk into the {@link FloatTiles} layout (the weights {@code (q 2^4k) s} the register kernels compute) and
     * the shared 5-row x 4-token micro-kernel runs on plain loads; below it every four tokens widen the weights again in
     * registers ({@link #tile2x4}). Each accumulator lane takes its columns in order, then the offsets, on both paths,
     * so the bits do not depend on the path.
     */
    private static final int TILE_MIN_TOKENS = 16;

    /**
     * Rows {@code r0 .. r1} for {@code n} tokens on the float tile (see {@link #TILE_MIN_TOKENS}); as {@link Q8_0Matrix}'s
     * prompt path. {@code x} holds the step-scaled activations from 0, the block sums from {@code xsb} and the 4-token
     * panels from {@code panels} ({@link #multiply}).
     */
    private void prompt(float[] x, int xsb, int panels, int n, float[] y, int r0, int r1, float[] buf) {
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
                do { // at least once: rows shorter than one group still get their offsets, tails and stores
                    int c1 = Math.min(full, c0 + chunk);
                    widen5(r, buf, c0, c1);
                    for (int t = t0; t + 4 <= t1; t += 4) {
                        int acc = accs + (t - t0) / 4 * group;
                        int g = (t - t0) / 4;
                        if (g <= 1) { // the first two token groups fetch the nibbles the next widen reads (QuantKernels#fetchStart)
                            long ta = QuantKernels.fetchStart(rowBytes, c1 < full ? r : r + h5, (c1 < full ? c1 : 0) / 2, g);
                            FloatTiles.tile5tokens4Fetching(buf, c0, c1, x, panels + t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                    c0 == 0 ? 0 : acc, c1 == full ? sums : acc, packed, ta, ta + 64, 128, packed.byteSize() - 1);
                        } else {
                            FloatTiles.tile5tokens4(buf, c0, c1, x, panels + t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf,
                                    c0 == 0 ? 0 : acc, c1 == full ? sums : acc);
                        }
                        if (c1 == full) {
                            finish5(buf, sums, x, xsb, y, r, t);
                        }
                    }
                    c0 = c1;
                } while (c0 < full);
                for (int t = tails; t < t1; t++) {
                    for (int i = 0; i < h5; i++) {
                        row1(r + i, QuantKernels.tileHeight(rows, r + i), t, x, xsb, y, buf, one);
                    }
                }
            }
            for (; r < r1; r++) {
                for (int t = t0; t < t1; t++) {
                    row1(r, QuantKernels.tileHeight(rows, r), t, x, xsb, y, buf, one);
                }
            }
        }
    }

    /** Whole groups of columns {@code c0 .. c1} of rows {@code r .. r+4} as the weights {@code (q 2^4k) s}, in the {@link FloatTiles} layout. */
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
            for (int c = c0; c < c1; c += 32) { // a block a turn, its nibbles loaded to the bottom of each lane (see tile4x1)
                final int b = c >> 5;
                final long off = base + QuantKernels.nibbleBlockByte(b, th);
                final IntVector v = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
                final IntVector vh = KPB > 4 ? IntVector.fromMemorySegment(I, packed, off + 2, ByteOrder.LITTLE_ENDIAN) : v;
                final float sc = scales[sr + b];
                for (int j = 0; j < KPB; j++) {
                    final int col = c - c0 + j * L;
                    ((FloatVector) (j < 4 ? v : vh).and(IntVector.fromArray(I, MASKS, (j & 3) * L)).convert(VectorOperators.I2F, 0))
                            .mul(sc).intoArray(tile, col / B * h5 * B + i * B + col % B);
                }
            }
        }
    }

    /**
     * A five-row group's 20 accumulators at {@code buf[sums ...]}: each continued with its row's offsets
     * ({@link #offsets}), lane-summed, plus the row's tail, into {@code y}.
     */
    private void finish5(float[] buf, int sums, float[] x, int xsb, float[] y, int r, int t) {
        final int L = Kernels.L;
        for (int j = 0; j < 4; j++) {
            final int xs = xsb + (t + j) * fbpL;
            for (int i = 0; i < 4; i++) {
                offsets(buf, sums + (4 * j + i) * L, r + i, x, xs);
            }
            offsets(buf, sums + (16 + j) * L, r + 4, x, xs);
        }
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

    /**
     * The accumulator at {@code buf[at ...]} continued with row {@code r}'s offsets times the block sums at
     * {@code x[xs ...]}, L blocks per FMA in order, as the register kernels continue theirs.
     */
    private void offsets(float[] buf, int at, int r, float[] x, int xs) {
        final int L = Kernels.L;
        FloatVector a = FloatVector.fromArray(F, buf, at);
        for (int j = 0, o = r * nbL; j < fbpL; j += L) {
            a = FloatVector.fromArray(F, offsets, o + j).fma(FloatVector.fromArray(F, x, xs + j), a);
        }
        a.intoArray(buf, at);
    }

    /** One weight from its 4-bit value and its block's scale and offset: {@code q s + o}, rounded once. */
    private static float weight(int q, float s, float o) {
        return Math.fma((float) q, s, o);
    }

    /** Row {@code r}'s columns past the last full group, {@code weight * x} added in order from 0 (as the register kernels do). */
    private float tailSum(int r, float[] x, int xo) {
        final int full = cols / G * G;
        final int tl = cols - full;
        final int tr = r - r % QuantKernels.TILE;
        final long toff = (long) tr * rowBytes + (long) (full / 2) * QuantKernels.tileHeight(rows, r) + (long) (r - tr) * tl;
        float q = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) >> 5;
            q += weight(packed.get(ValueLayout.JAVA_BYTE, toff + i), scales[r * nb + cb], offsets[r * nbL + cb]) * x[xo + full + i];
        }
        return q;
    }

    private void run(float[] x, int xsb, int n, float[] y, int tile0, int tile1, float[] buf, int bo) {
        for (int tile = tile0; tile < tile1; tile++) {
            int r0 = tile * QuantKernels.TILE;
            int h = Math.min(QuantKernels.TILE, rows - r0);
            if (h == QuantKernels.TILE) {
                int t = 0;
                for (; t + 4 <= n; t += 4) {
                    tile2x4(r0, 0, t, x, xsb, y, buf, bo);
                    tile2x4(r0, 2, t, x, xsb, y, buf, bo);
                }
                for (; t < n; t++) {
                    tile4x1(r0, t, x, xsb, y, buf, bo);
                }
            } else {
                for (int t = 0; t < n; t++) {
                    for (int r = r0; r < r0 + h; r++) {
                        row1(r, h, t, x, xsb, y, buf, bo);
                    }
                }
            }
        }
    }

    @Override
    public void row(int r, float[] dst, int off) {
        for (int c = 0; c < cols; c++) {
            dst[off + c] = weight(value(r, c), scales[r * nb + c / 32], offsets[r * nbL + c / 32]);
        }
    }

    /**
     * Rows {@code r0 + i0} and {@code r0 + i0 + 1} of a full tile for tokens {@code t .. t+3} (4 to 15 tokens: decode
     * steps of a few users), called for rows 0-1 and 2-3: eight accumulators, where four rows' sixteen spilled on 16
     * registers.
     */
    private void tile2x4(int r0, int i0, int t, float[] x, int xsb, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final long base = (long) r0 * rowBytes + (long) i0 * GB;
        final int sr0 = (r0 + i0) * nb;
        final int sr1 = sr0 + nb;
        final int x0 = (t + 0) * cols;
        final int x1 = (t + 1) * cols;
        final int x2 = (t + 2) * cols;
        final int x3 = (t + 3) * cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        for (int b = 0; b < full / 32; b++) { // a block a turn, its nibbles loaded to the bottom of each lane (see tile4x1)
            final long off = base + QuantKernels.nibbleBlockByte(b, QuantKernels.TILE);
            final int c = b * 32;
            final IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            final IntVector v1 = IntVector.fromMemorySegment(I, packed, off + GB, ByteOrder.LITTLE_ENDIAN);
            final FloatVector s0 = FloatVector.broadcast(F, scales[sr0 + b]);
            final FloatVector s1 = FloatVector.broadcast(F, scales[sr1 + b]);
            // a loop over the steps, each nibble mask loaded from a table (written out, the steps passed C2's inlining budget)
            for (int j = 0; j < maskSteps; j++) { // a field: a constant count was unrolled, its x loads hoisted and spilled
                final int cj = c + j * L;
                final IntVector m = IntVector.fromArray(I, MASKS, j * L);
                final FloatVector w0 = ((FloatVector) v0.and(m).convert(VectorOperators.I2F, 0)).mul(s0);
                final FloatVector w1 = ((FloatVector) v1.and(m).convert(VectorOperators.I2F, 0)).mul(s1);
                FloatVector e = FloatVector.fromArray(F, x, x0 + cj);
                a00 = w0.fma(e, a00);
                a10 = w1.fma(e, a10);
                e = FloatVector.fromArray(F, x, x1 + cj);
                a01 = w0.fma(e, a01);
                a11 = w1.fma(e, a11);
                e = FloatVector.fromArray(F, x, x2 + cj);
                a02 = w0.fma(e, a02);
                a12 = w1.fma(e, a12);
                e = FloatVector.fromArray(F, x, x3 + cj);
                a03 = w0.fma(e, a03);
                a13 = w1.fma(e, a13);
            }
            if (KPB > 4) { // 4-lane vectors: one block per group, its steps 4..7 from a load 2 bytes on (a constant test: not parsed otherwise)
                final IntVector h0 = IntVector.fromMemorySegment(I, packed, off + 2, ByteOrder.LITTLE_ENDIAN);
                final IntVector h1 = IntVector.fromMemorySegment(I, packed, off + GB + 2, ByteOrder.LITTLE_ENDIAN);
                for (int j = 4; j < KPB; j++) {
                    final int cj = c + j * L;
                    final IntVector m = IntVector.fromArray(I, MASKS, (j - 4) * L);
                    final FloatVector w0 = ((FloatVector) h0.and(m).convert(VectorOperators.I2F, 0)).mul(s0);
                    final FloatVector w1 = ((FloatVector) h1.and(m).convert(VectorOperators.I2F, 0)).mul(s1);
                    FloatVector e = FloatVector.fromArray(F, x, x0 + cj);
                    a00 = w0.fma(e, a00); a10 = w1.fma(e, a10);
                    e = FloatVector.fromArray(F, x, x1 + cj);
                    a01 = w0.fma(e, a01); a11 = w1.fma(e, a11);
                    e = FloatVector.fromArray(F, x, x2 + cj);
                    a02 = w0.fma(e, a02); a12 = w1.fma(e, a12);
                    e = FloatVector.fromArray(F, x, x3 + cj);
                    a03 = w0.fma(e, a03); a13 = w1.fma(e, a13);
                }
            }
        }
        final int xs0 = xsb + (t + 0) * fbpL;
        final int xs1 = xsb + (t + 1) * fbpL;
        final int xs2 = xsb + (t + 2) * fbpL;
        final int xs3 = xsb + (t + 3) * fbpL;
        for (int j = 0; j < fbpL; j += L) {
            final FloatVector o0 = FloatVector.fromArray(F, offsets, sr0 / nb * nbL + j);
            final FloatVector o1 = FloatVector.fromArray(F, offsets, sr1 / nb * nbL + j);
            FloatVector e = FloatVector.fromArray(F, x, xs0 + j);
            a00 = o0.fma(e, a00);
            a10 = o1.fma(e, a10);
            e = FloatVector.fromArray(F, x, xs1 + j);
            a01 = o0.fma(e, a01);
            a11 = o1.fma(e, a11);
            e = FloatVector.fromArray(F, x, xs2 + j);
            a02 = o0.fma(e, a02);
            a12 = o1.fma(e, a12);
            e = FloatVector.fromArray(F, x, xs3 + j);
            a03 = o0.fma(e, a03);
            a13 = o1.fma(e, a13);
        }
        final int ra = r0 + i0;
        final int rb = ra + 1;
        a00.intoArray(buf, bo);
        y[(t + 0) * rows + ra] = VectorMath.sum(buf, bo) + tailSum(ra, x, x0);
        a10.intoArray(buf, bo);
        y[(t + 0) * rows + rb] = VectorMath.sum(buf, bo) + tailSum(rb, x, x0);
        a01.intoArray(buf, bo);
        y[(t + 1) * rows + ra] = VectorMath.sum(buf, bo) + tailSum(ra, x, x1);
        a11.intoArray(buf, bo);
        y[(t + 1) * rows + rb] = VectorMath.sum(buf, bo) + tailSum(rb, x, x1);
        a02.intoArray(buf, bo);
        y[(t + 2) * rows + ra] = VectorMath.sum(buf, bo) + tailSum(ra, x, x2);
        a12.intoArray(buf, bo);
        y[(t + 2) * rows + rb] = VectorMath.sum(buf, bo) + tailSum(rb, x, x2);
        a03.intoArray(buf, bo);
        y[(t + 3) * rows + ra] = VectorMath.sum(buf, bo) + tailSum(ra, x, x3);
        a13.intoArray(buf, bo);
        y[(t + 3) * rows + rb] = VectorMath.sum(buf, bo) + tailSum(rb, x, x3);
    }

    /**
     * Rows {@code r0 .. r0+3} (a full tile) for token {@code t}: the decode kernel. One 32-column block a turn: its
     * nibbles are the (b % NIBBLE_BPG)-th KPB of each int lane, and an int load that starts KPB/2 bytes later per block puts
     * them at the bottom of each lane (the lane's upper bits, from the next lane or past the group, are masked away;
     * the allocation has room past the last row), so the masks do not depend on the block. The steps are looped over
     * a count held in a field. Measured against the alternatives ({@code QuickMatrixRates q4_k SHAPE 1}, G weights/s,
     * and llama-3.2-1b Q4_K_M decode, one thread):
     * <ul>
     * <li>a loop over a group's eight steps, the masks built from the step: 6.1-6.3 on [8192 x 2048]; C2 neither
     * unrolled it nor kept the masks constant, and spilled the nibble vectors;</li>
     * <li>the eight steps written out for four rows: 0.7; the code passed C2's inlining budget
     * ({@code NodeCountInliningCutoff}) and the vector operations after it were left as calls;</li>
     * <li>a vector shift per block instead of the offset load: 1.8, the same way;</li>
     * <li>two rows, a block's steps written out, masks constant: 10.4-10.7 on [8192 x 2048], 10.8-11.6 on
     * [2048 x 8192]; 7.5 tok/s;</li>
     * <li>this kernel, four accumulator chains: 8.3 on [8192 x 2048] (that shape alone), 12.6-12.8 on [2048 x 2048],
     * [512 x 2048] and [2048 x 8192]; 8.3 tok/s.</li>
     * </ul>
     * A step count held as a constant was unrolled by C2, its activation loads hoisted and spilled (tile2x4).
     */
    private void tile4x1(int r0, int t, float[] x, int xsb, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int sr0 = r0 * nb;
        final int sr1 = sr0 + nb;
        final int sr2 = sr1 + nb;
        final int sr3 = sr2 + nb;
        final int x0 = t * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        final long base = (long) r0 * rowBytes;
        for (int b = 0; b < full / 32; b++) {
            final long off = base + QuantKernels.nibbleBlockByte(b, QuantKernels.TILE);
            final IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            final IntVector v1 = IntVector.fromMemorySegment(I, packed, off + GB, ByteOrder.LITTLE_ENDIAN);
            final IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2 * GB, ByteOrder.LITTLE_ENDIAN);
            final IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3 * GB, ByteOrder.LITTLE_ENDIAN);
            final FloatVector s0 = FloatVector.broadcast(F, scales[sr0 + b]);
            final FloatVector s1 = FloatVector.broadcast(F, scales[sr1 + b]);
            final FloatVector s2 = FloatVector.broadcast(F, scales[sr2 + b]);
            final FloatVector s3 = FloatVector.broadcast(F, scales[sr3 + b]);
            final int c = x0 + b * 32;
            for (int j = 0; j < maskSteps; j++) {
                final IntVector m = IntVector.fromArray(I, MASKS, j * L);
                final FloatVector e = FloatVector.fromArray(F, x, c + j * L);
                a0 = ((FloatVector) v0.and(m).convert(VectorOperators.I2F, 0)).mul(s0).fma(e, a0);
                a1 = ((FloatVector) v1.and(m).convert(VectorOperators.I2F, 0)).mul(s1).fma(e, a1);
                a2 = ((FloatVector) v2.and(m).convert(VectorOperators.I2F, 0)).mul(s2).fma(e, a2);
                a3 = ((FloatVector) v3.and(m).convert(VectorOperators.I2F, 0)).mul(s3).fma(e, a3);
            }
            if (KPB > 4) { // 4-lane vectors: one block per group, its steps 4..7 from loads 2 bytes on (a constant test)
                final IntVector h0 = IntVector.fromMemorySegment(I, packed, off + 2, ByteOrder.LITTLE_ENDIAN);
                final IntVector h1 = IntVector.fromMemorySegment(I, packed, off + GB + 2, ByteOrder.LITTLE_ENDIAN);
                final IntVector h2 = IntVector.fromMemorySegment(I, packed, off + 2 * GB + 2, ByteOrder.LITTLE_ENDIAN);
                final IntVector h3 = IntVector.fromMemorySegment(I, packed, off + 3 * GB + 2, ByteOrder.LITTLE_ENDIAN);
                for (int j = 4; j < KPB; j++) {
                    final IntVector m = IntVector.fromArray(I, MASKS, (j - 4) * L);
                    final FloatVector e = FloatVector.fromArray(F, x, c + j * L);
                    a0 = ((FloatVector) h0.and(m).convert(VectorOperators.I2F, 0)).mul(s0).fma(e, a0);
                    a1 = ((FloatVector) h1.and(m).convert(VectorOperators.I2F, 0)).mul(s1).fma(e, a1);
                    a2 = ((FloatVector) h2.and(m).convert(VectorOperators.I2F, 0)).mul(s2).fma(e, a2);
                    a3 = ((FloatVector) h3.and(m).convert(VectorOperators.I2F, 0)).mul(s3).fma(e, a3);
                }
            }
        }
        final int xs0 = xsb + t * fbpL;
        for (int j = 0; j < fbpL; j += L) {
            final FloatVector e = FloatVector.fromArray(F, x, xs0 + j);
            a0 = FloatVector.fromArray(F, offsets, (r0 + 0) * nbL + j).fma(e, a0);
            a1 = FloatVector.fromArray(F, offsets, (r0 + 1) * nbL + j).fma(e, a1);
            a2 = FloatVector.fromArray(F, offsets, (r0 + 2) * nbL + j).fma(e, a2);
            a3 = FloatVector.fromArray(F, offsets, (r0 + 3) * nbL + j).fma(e, a3);
        }
        a0.intoArray(buf, bo);
        y[t * rows + r0] = VectorMath.sum(buf, bo) + tailSum(r0, x, x0);
        a1.intoArray(buf, bo);
        y[t * rows + r0 + 1] = VectorMath.sum(buf, bo) + tailSum(r0 + 1, x, x0);
        a2.intoArray(buf, bo);
        y[t * rows + r0 + 2] = VectorMath.sum(buf, bo) + tailSum(r0 + 2, x, x0);
        a3.intoArray(buf, bo);
        y[t * rows + r0 + 3] = VectorMath.sum(buf, bo) + tailSum(r0 + 3, x, x0);
    }

    /** Row {@code r} of a tile of {@code h} rows, token {@code t}; same summation order as the tile kernels. */
    private void row1(int r, int h, int t, float[] x, int xsb, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int r0 = r - r % QuantKernels.TILE;
        final int ri = r - r0;
        final long base = (long) r0 * rowBytes;
        final int sr0 = r * nb;
        final int x0 = t * cols;
        FloatVector a00 = FloatVector.zero(F);
        final long start = base + (long) ri * GB;
        for (int b = 0; b < full / 32; b++) { // a block a turn, its nibbles loaded to the bottom of each lane (see tile4x1)
            final long off = start + QuantKernels.nibbleBlockByte(b, h);
            final IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            final IntVector h0 = KPB > 4 ? IntVector.fromMemorySegment(I, packed, off + 2, ByteOrder.LITTLE_ENDIAN) : v0;
            final FloatVector s0 = FloatVector.broadcast(F, scales[sr0 + b]);
            for (int j = 0; j < KPB; j++) {
                final FloatVector w = (FloatVector) (j < 4 ? v0 : h0).and(IntVector.fromArray(I, MASKS, (j & 3) * L)).convert(VectorOperators.I2F, 0);
                a00 = w.mul(s0).fma(FloatVector.fromArray(F, x, x0 + b * 32 + j * L), a00);
            }
        }
        final int xs0 = xsb + t * fbpL;
        for (int j = 0; j < fbpL; j += L) {
            a00 = FloatVector.fromArray(F, offsets, r * nbL + j).fma(FloatVector.fromArray(F, x, xs0 + j), a00);
        }
        a00.intoArray(buf, bo);
        y[t * rows + r] = VectorMath.sum(buf, bo) + tailSum(r, x, x0);
    }
}
