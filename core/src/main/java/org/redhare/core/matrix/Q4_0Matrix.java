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
 * GGML Q4_0 weights: blocks of 32 columns of a row share an f16 scale {@code d};
 * {@code W[r, c] = (q[r, c] - 8) * d[r, c / 32]} with 4-bit {@code q}.
 *
 * <p>Activations stay float (see {@link Q8_0Matrix} for why). The kernels take one 32-column block a turn: an int
 * load at {@link QuantKernels#nibbleBlockByte} puts step j of the block at bits 4j..4j+3 of each lane, an AND with a
 * constant mask keeps it where it is and a conversion gives the float {@code q * 2^4j}, exact. The activations of step
 * j carry {@code 2^-4j} instead ({@link QuantKernels#stepScaled}, once per call: a power of two, exact), so every
 * product is exactly {@code q * x}. Two operations per L weights, where the float {@code u = 1 + q/16} used before took
 * three (shift, AND, OR). The masks are loaded from a table in a loop over a step count held in a field (see
 * {@link Q4_KMatrix#tile4x1} for why each of these forms); the one-token kernel went from 10.1-11.0 to 12.6-14.0
 * G weights/s ({@code QuickMatrixRates q4_0}, docs/PERFORMANCE.md, sixteenth session), the masks built from a group's
 * step before. The expressions are written out at each use: a helper returning a vector, once C2 had compiled it on
 * its own, was not inlined into a Q4_K kernel and every call boxed its result.
 *
 * <p>Per 32-column block each (row, token) starts its sum from {@code -8/L * sum(x)} of the block in every lane
 * (L lanes add up to the {@code -8} of {@code q - 8}), adds {@code q * x} over the block and folds the sum into
 * its total with one FMA by {@code d}. The offsets used to be a second dot product per (row, token) of the row's
 * scales with the block sums, a second pass over the scales (62 MB a token on qwen2.5-0.5b) that took 13% of
 * decode's samples. The column tail (rows whose length is not a multiple of 8L) is scalar,
 * {@code fma(q, d, -8d) * x}. Activations below {@code 2^-114} in size become subnormal once scaled (and lose
 * bits); they contribute nothing visible, and every path scales them alike, so the bits still do not depend on
 * the batch.
 *
 * <p>Sixteen tokens or more (prompts, decode steps of many users) widen each tile once per token block into a
 * per-thread float tile ({@code prompt}); fewer widen in registers for every two tokens. Both fold alike.
 *
 * <p><b>Layout (repacked at load).</b> Tiles of four rows form one stream: for each group of
 * {@code G = 8L} columns, each row's G/2 bytes with nibble {@code m} of int lane {@code i} holding
 * column {@code m*L + i}; then each row's {@code cols % G} tail values, one byte each. Scales are widened
 * to float at load.
 */
public final class Q4_0Matrix implements WeightMatrix {
    private static final VectorSpecies<Float> F = Kernels.F;
    private static final VectorSpecies<Integer> I = Kernels.I;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int G = 8 * Kernels.L;
    private static final int GB = G / 2; // bytes per row per group
    /** L-float chunks per 32-column block. */
    private static final int KPB = QuantKernels.NIBBLE_KPB;
    /** Lane-buffer floats per worker: one for sums, sixteen for the 4x4 kernel's totals. */
    private static final int LANE_BUF = 17 * Kernels.L;

    private final MemorySegment packed; // [rows * rowBytes] nibbles in the tile layout
    private final float[] scales;       // [rows, nb] block scales
    private final int rows;
    private final int cols;
    private final int nb;               // blocks per row
    private final int rowBytes;         // packed bytes per row: full / 2 + tail
    private final int maskSteps = QuantKernels.NIBBLE_PERIOD; // a field, not a constant: see Q4_KMatrix#tile4x1

    /**
     * @param q      {@code [rows, cols]} 4-bit values 0..15, one per byte, row-major
     * @param scales {@code [rows, cols / 32]} block scales d
     */
    public Q4_0Matrix(MemorySegment q, float[] scales, int rows, int cols) {
        MatrixChecks.size(q, rows, cols, 1, "Q4_0");
        if (cols % 32 != 0 || Kernels.L > 32) {
            throw new IllegalArgumentException("Q4_0 rows must be a multiple of 32 long, got " + cols);
        }
        this.rows = rows;
        this.cols = cols;
        this.nb = cols / 32;
        if (scales.length != rows * nb) {
            throw new IllegalArgumentException("Q4_0 matrix [" + rows + ", " + cols + "] needs " + rows * nb + " scales, got " + scales.length);
        }
        this.scales = scales.clone();
        int full = cols / G * G;
        this.rowBytes = full / 2 + (cols - full);
        this.packed = QuantKernels.allocate((long) rows * rowBytes + QuantKernels.NIBBLE_PAST_END);
        repack(q, full);
    }

    /** Over GGML Q4_0 blocks as stored in GGUF: per row {@code cols / 32} blocks of an f16 scale and 16 nibble bytes. */
    public static Q4_0Matrix ofGgml(MemorySegment blocks, int rows, int cols) {
        QuantKernels.checkGgml(blocks, rows, cols, 32, 18, "Q4_0");
        int nb = cols / 32;
        float[] d = new float[rows * nb];
        MemorySegment q = QuantKernels.allocate((long) rows * cols);
        for (long b = 0; b < (long) rows * nb; b++) {
            d[(int) b] = Float.float16ToFloat(blocks.get(LE_SHORT, b * 18));
            for (int j = 0; j < 16; j++) {
                int v = blocks.get(ValueLayout.JAVA_BYTE, b * 18 + 2 + j) & 0xFF;
                q.set(ValueLayout.JAVA_BYTE, b * 32 + j, (byte) (v & 0xF));
                q.set(ValueLayout.JAVA_BYTE, b * 32 + 16 + j, (byte) (v >>> 4));
            }
        }
        return new Q4_0Matrix(q, d, rows, cols);
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
                    throw new IllegalArgumentException("Q4_0 value [" + r + ", " + c + "] is " + row[c] + "; expected 0..15");
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
    @Override public DType dtype() { return DType.Q4_0; }
    @Override public long bytes() { return (long) rows * rowBytes + (long) rows * nb * 4; }

    @Override
    public void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        final int full = cols / G * G;
        final int fbp = full / 32;
        final int xsb = n * cols;          // the block sums' offsets, after the step-scaled activations
        final int after = xsb + n * fbp;   // then the 4-token panels (prompt path) or each worker's lane buffer
        final boolean widened = n >= TILE_MIN_TOKENS;
        final float[] buf = pool.scratch(after + (widened ? Math.max(1, n / 4 * 4 * full) : pool.threads() * LANE_BUF));
        QuantKernels.stepScaled(x, n, cols, full, buf, xsb, fbp, OFFSET);
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        if (widened) {
            Kernels.packTokens4(buf, n, cols, full, 32, buf, after); // [block][token 0..3][32] per 4-token group
            final int need = unitScratch(n, full);
            pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1,
                    (t0, t1, w) -> prompt(buf, xsb, after, n, y, t0, t1, pool.workerScratch(w, need)));
            return;
        }
        pool.forRange(tiles, QuantKernels.tileGrain(rows, pool.threads()), 1,
                (t0, t1, w) -> run(buf, xsb, n, y, t0, t1, buf, after + w * LANE_BUF));
    }

    /** {@code -8 / L}, exact: L lanes of it sum to the {@code -8} that {@code q - 8} subtracts per unit of activation. */
    private static final float OFFSET = -8f / Kernels.L;

    /**
     * From this many tokens (a prompt, or a decode step of many users) each four-row tile is widened once per
     * token block and column chunk into a per-thread tile of floats {@code q * 2^4k}, and a 2-row x 4-token
     * micro-kernel runs on plain loads ({@link #units2x4}); below it every two tokens widen the weights again in
     * registers ({@link #tile4x2}). Both fold each 32-column block exactly alike, so the bits do not depend on the
     * path.
     */
    private static final int TILE_MIN_TOKENS = 16;

    /** Worker scratch of the tile path: the widened tile, each token group's 16 accumulators, their lane sums, a lane buffer. */
    private int unitScratch(int n, int full) {
        return 4 * FloatTiles.chunkColumns(full) + FloatTiles.tokenBlock(n, cols) / 4 * 16 * Kernels.L + 16 + LANE_BUF;
    }

    /**
     * Tiles {@code tile0 .. tile1} for {@code n} tokens by token blocks: each full tile's columns, a chunk at a time, are
     * widened into {@code buf} ({@code [32-column block][row 0..3][32 floats]}) and every group of four tokens folds
     * them with {@link #units2x4} (rows 0-1, then 2-3), the accumulators carried from chunk to chunk in {@code buf};
     * {@code x} holds the step-scaled activations from 0, the blocks' offsets from {@code xsb} and the 4-token panels
     * from {@code panels} ({@link #multiply}).
     */
    private void prompt(float[] x, int xsb, int panels, int n, float[] y, int tile0, int tile1, float[] buf) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int fbp = full / 32;
        final int block = FloatTiles.tokenBlock(n, cols);
        final int chunk = FloatTiles.chunkColumns(full); // a multiple of G
        final int group = 16 * L;                        // floats of one token group's accumulators
        final int accs = 4 * chunk;                      // after the tile
        final int lanes = accs + block / 4 * group;      // 16 lane sums
        final int bo = lanes + 16;                       // the one-token kernels' lane buffer
        for (int t0 = 0; t0 < n; t0 += block) {
            final int t1 = Math.min(n, t0 + block);
            final int tails = t0 + (t1 - t0) / 4 * 4;
            for (int ti = tile0; ti < tile1; ti++) {
                final int r0 = ti * QuantKernels.TILE;
                final int h = Math.min(QuantKernels.TILE, rows - r0);
                if (h < QuantKernels.TILE) {
                    for (int t = t0; t < t1; t++) {
                        for (int r = r0; r < r0 + h; r++) {
                            row1(r, h, t, x, xsb, y, buf, bo);
                        }
                    }
                    continue;
                }
                int c0 = 0;
                do { // at least once: rows shorter than one group still get their offsets and tails
                    final int c1 = Math.min(full, c0 + chunk);
                    widenUnits(r0, buf, c0, c1);
                    for (int t = t0; t + 4 <= t1; t += 4) {
                        final int acc = accs + (t - t0) / 4 * group;
                        units2x4(buf, c0, c1, x, panels + t * full, xsb + t * fbp, fbp, buf, acc, r0, 0);
                        units2x4(buf, c0, c1, x, panels + t * full, xsb + t * fbp, fbp, buf, acc, r0, 2);
                        if (c1 == full) {
                            finishUnits(buf, acc, lanes, x, xsb, fbp, y, r0, t, full);
                        }
                    }
                    c0 = c1;
                } while (c0 < full);
                for (int t = tails; t < t1; t++) {
                    tile4x1(r0, t, x, xsb, y, buf, bo);
                }
            }
        }
    }

    /** Columns {@code c0 .. c1} (whole groups) of the full tile at row {@code r0} as {@code q * 2^4k} ({@code (k < 7 ? v & 0xF << 4k : v >>> 28)} converted, written out at each use: a helper returning a vector that C2 compiled on its own first was not inlined into a Q4_K kernel, and every call boxed its result), {@code [32-column block][row][32]}. */
    private void widenUnits(int r0, float[] tile, int c0, int c1) {
        final int L = Kernels.L;
        final long base = (long) r0 * rowBytes;
        for (int b = c0 >> 5; b < c1 >> 5; b++) { // a block a turn, loaded as the one-token kernel loads it
            final long off = base + QuantKernels.nibbleBlockByte(b, QuantKernels.TILE);
            for (int i = 0; i < QuantKernels.TILE; i++) {
                final IntVector v = IntVector.fromMemorySegment(I, packed, off + (long) i * GB, ByteOrder.LITTLE_ENDIAN);
                final IntVector h = KPB > 4 ? IntVector.fromMemorySegment(I, packed, off + (long) i * GB + 2, ByteOrder.LITTLE_ENDIAN) : v;
                for (int j = 0; j < KPB; j++) {
                    final int col = b * 32 - c0 + j * L;
                    ((FloatVector) (j < 4 ? v : h).and(IntVector.fromArray(I, QuantKernels.NIBBLE_MASKS, (j & 3) * L)).convert(VectorOperators.I2F, 0))
                            .intoArray(tile, ((col >> 5) * QuantKernels.TILE + i) * 32 + (col & 31));
                }
            }
        }
    }

    /**
     * Rows {@code i0, i0+1} of the widened tile against the 4-token panel at {@code xp[xq ...]}, columns {@code c0 .. c1}:
     * per 32-column block each (row, token) sums {@code q * x} from the block's offset over its L-column chunks in order and
     * folds the sum into its accumulator with one FMA by the row's {@code d}, as {@link #tile4x2} does; the offsets of
     * the four tokens are at {@code xp[xo + j * fbp + block]}. The eight
     * accumulators live at {@code acc[ao + (4i + j) L]} (row i, token j): zeros when {@code c0 == 0}, else the previous
     * chunk's.
     */
    private void units2x4(float[] tile, int c0, int c1, float[] xp, int xq, int xo, int fbp, float[] acc, int ao, int r0, int i0) {
        final int L = Kernels.L;
        final int sr0 = (r0 + i0) * nb;
        final int sr1 = sr0 + nb;
        final int o0 = ao + 4 * i0 * L;
        final int o1 = o0 + 4 * L;
        final float[] init = c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : acc; // branch-free below (see FloatTiles#tile5tokens4)
        final int i0o = c0 == 0 ? 0 : o0;
        final int i1o = c0 == 0 ? 4 * L : o1;
        FloatVector s00 = FloatVector.fromArray(F, init, i0o);
        FloatVector s01 = FloatVector.fromArray(F, init, i0o + L);
        FloatVector s02 = FloatVector.fromArray(F, init, i0o + 2 * L);
        FloatVector s03 = FloatVector.fromArray(F, init, i0o + 3 * L);
        FloatVector s10 = FloatVector.fromArray(F, init, i1o);
        FloatVector s11 = FloatVector.fromArray(F, init, i1o + L);
        FloatVector s12 = FloatVector.fromArray(F, init, i1o + 2 * L);
        FloatVector s13 = FloatVector.fromArray(F, init, i1o + 3 * L);
        final int blocks = (c1 - c0) >> 5;
        for (int bi = 0, tb = i0 * 32, xb = xq + 4 * c0; bi < blocks; bi++, tb += 4 * 32, xb += 4 * 32) {
            final int b = (c0 >> 5) + bi;
            final FloatVector e0 = FloatVector.broadcast(F, xp[xo + b]);
            final FloatVector e1 = FloatVector.broadcast(F, xp[xo + fbp + b]);
            final FloatVector e2 = FloatVector.broadcast(F, xp[xo + 2 * fbp + b]);
            final FloatVector e3 = FloatVector.broadcast(F, xp[xo + 3 * fbp + b]);
            FloatVector a00 = e0, a01 = e1, a02 = e2, a03 = e3;
            FloatVector a10 = e0, a11 = e1, a12 = e2, a13 = e3;
            for (int k = 0; k < 32; k += L) {
                FloatVector x0 = FloatVector.fromArray(F, xp, xb + k);
                FloatVector x1 = FloatVector.fromArray(F, xp, xb + 32 + k);
                FloatVector x2 = FloatVector.fromArray(F, xp, xb + 64 + k);
                FloatVector x3 = FloatVector.fromArray(F, xp, xb + 96 + k);
                FloatVector w0 = FloatVector.fromArray(F, tile, tb + k);
                FloatVector w1 = FloatVector.fromArray(F, tile, tb + 32 + k);
                a00 = w0.fma(x0, a00);
                a01 = w0.fma(x1, a01);
                a02 = w0.fma(x2, a02);
                a03 = w0.fma(x3, a03);
                a10 = w1.fma(x0, a10);
                a11 = w1.fma(x1, a11);
                a12 = w1.fma(x2, a12);
                a13 = w1.fma(x3, a13);
            }
            final FloatVector d0 = FloatVector.broadcast(F, scales[sr0 + b]);
            final FloatVector d1 = FloatVector.broadcast(F, scales[sr1 + b]);
            s00 = a00.fma(d0, s00);
            s01 = a01.fma(d0, s01);
            s02 = a02.fma(d0, s02);
            s03 = a03.fma(d0, s03);
            s10 = a10.fma(d1, s10);
            s11 = a11.fma(d1, s11);
            s12 = a12.fma(d1, s12);
            s13 = a13.fma(d1, s13);
        }
        s00.intoArray(acc, o0);
        s01.intoArray(acc, o0 + L);
        s02.intoArray(acc, o0 + 2 * L);
        s03.intoArray(acc, o0 + 3 * L);
        s10.intoArray(acc, o1);
        s11.intoArray(acc, o1 + L);
        s12.intoArray(acc, o1 + 2 * L);
        s13.intoArray(acc, o1 + 3 * L);
    }

    /** The 16 accumulators at {@code buf[acc ...]} summed, plus offsets and tails as {@link #tile4x2} adds them, into {@code y}. */
    private void finishUnits(float[] buf, int acc, int lanes, float[] x, int xsb, int fbp, float[] y, int r0, int t, int full) {
        VectorMath.sum16(buf, acc, buf, lanes);
        final int tl = cols - full;
        final long toff = (long) r0 * rowBytes + (long) (full / 2) * QuantKernels.TILE;
        for (int i = 0; i < QuantKernels.TILE; i++) {
            final int sr = (r0 + i) * nb;
            for (int j = 0; j < 4; j++) {
                final int xo = (t + j) * cols + full;
                float q = 0f;
                for (int m = 0; m < tl; m++) {
                    q += unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + (long) i * tl + m), scales[sr + ((full + m) >> 5)]) * x[xo + m];
                }
                y[(t + j) * rows + r0 + i] = buf[lanes + 4 * i + j] + q;
            }
        }
    }

    private void run(float[] x, int xsb, int n, float[] y, int tile0, int tile1, float[] buf, int bo) {
        for (int tile = tile0; tile < tile1; tile++) {
            int r0 = tile * QuantKernels.TILE;
            int h = Math.min(QuantKernels.TILE, rows - r0);
            if (h == QuantKernels.TILE) {
                int t = 0;
                for (; t + 2 <= n; t += 2) {
                    tile4x2(r0, t, x, xsb, y, buf, bo);
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
            dst[off + c] = unitTail(value(r, c), scales[r * nb + c / 32]);
        }
    }

    /** One weight, {@code (q - 8) d}, from its 4-bit value and its block's scale. */
    private static float unitTail(int q, float d) {
        return Math.fma((float) q, d, -8f * d);
    }

    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+1}. */
    private void tile4x2(int r0, int t, float[] x, int xsb, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int fbp = full / 32; // blocks in the vector part
        final long base = (long) r0 * rowBytes;
        final int sr0 = (r0 + 0) * nb;
        final int sr1 = (r0 + 1) * nb;
        final int sr2 = (r0 + 2) * nb;
        final int sr3 = (r0 + 3) * nb;
        final int x0 = (t + 0) * cols;
        final int xs0 = xsb + (t + 0) * fbp;
        final int x1 = (t + 1) * cols;
        final int xs1 = xsb + (t + 1) * fbp;
        FloatVector s00 = FloatVector.zero(F);
        FloatVector s01 = FloatVector.zero(F);
        FloatVector s10 = FloatVector.zero(F);
        FloatVector s11 = FloatVector.zero(F);
        FloatVector s20 = FloatVector.zero(F);
        FloatVector s21 = FloatVector.zero(F);
        FloatVector s30 = FloatVector.zero(F);
        FloatVector s31 = FloatVector.zero(F);
        for (int b = 0; b < fbp; b++) { // a block a turn, loaded as tile4x1 loads it
            final long off = base + QuantKernels.nibbleBlockByte(b, QuantKernels.TILE);
            final IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            final IntVector v1 = IntVector.fromMemorySegment(I, packed, off + GB, ByteOrder.LITTLE_ENDIAN);
            final IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2 * GB, ByteOrder.LITTLE_ENDIAN);
            final IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3 * GB, ByteOrder.LITTLE_ENDIAN);
            final IntVector h0 = KPB > 4 ? IntVector.fromMemorySegment(I, packed, off + 2, ByteOrder.LITTLE_ENDIAN) : v0;
            final IntVector h1 = KPB > 4 ? IntVector.fromMemorySegment(I, packed, off + GB + 2, ByteOrder.LITTLE_ENDIAN) : v1;
            final IntVector h2 = KPB > 4 ? IntVector.fromMemorySegment(I, packed, off + 2 * GB + 2, ByteOrder.LITTLE_ENDIAN) : v2;
            final IntVector h3 = KPB > 4 ? IntVector.fromMemorySegment(I, packed, off + 3 * GB + 2, ByteOrder.LITTLE_ENDIAN) : v3;
            final FloatVector o0 = FloatVector.broadcast(F, x[xs0 + b]);
            final FloatVector o1 = FloatVector.broadcast(F, x[xs1 + b]);
            FloatVector a00 = o0; FloatVector a01 = o1;
            FloatVector a10 = o0; FloatVector a11 = o1;
            FloatVector a20 = o0; FloatVector a21 = o1;
            FloatVector a30 = o0; FloatVector a31 = o1;
            final int c = b * 32;
            for (int j = 0; j < KPB; j++) {
                final IntVector m = IntVector.fromArray(I, QuantKernels.NIBBLE_MASKS, (j & 3) * L);
                FloatVector w0 = ((FloatVector) (j < 4 ? v0 : h0).and(m).convert(VectorOperators.I2F, 0));
                FloatVector w1 = ((FloatVector) (j < 4 ? v1 : h1).and(m).convert(VectorOperators.I2F, 0));
                FloatVector w2 = ((FloatVector) (j < 4 ? v2 : h2).and(m).convert(VectorOperators.I2F, 0));
                FloatVector w3 = ((FloatVector) (j < 4 ? v3 : h3).and(m).convert(VectorOperators.I2F, 0));
                FloatVector y0 = FloatVector.fromArray(F, x, x0 + c + j * L);
                FloatVector y1 = FloatVector.fromArray(F, x, x1 + c + j * L);
                a00 = w0.fma(y0, a00);
                a01 = w0.fma(y1, a01);
                a10 = w1.fma(y0, a10);
                a11 = w1.fma(y1, a11);
                a20 = w2.fma(y0, a20);
                a21 = w2.fma(y1, a21);
                a30 = w3.fma(y0, a30);
                a31 = w3.fma(y1, a31);
            }
            final FloatVector dv0 = FloatVector.broadcast(F, scales[sr0 + b]);
            s00 = a00.fma(dv0, s00);
            s01 = a01.fma(dv0, s01);
            final FloatVector dv1 = FloatVector.broadcast(F, scales[sr1 + b]);
            s10 = a10.fma(dv1, s10);
            s11 = a11.fma(dv1, s11);
            final FloatVector dv2 = FloatVector.broadcast(F, scales[sr2 + b]);
            s20 = a20.fma(dv2, s20);
            s21 = a21.fma(dv2, s21);
            final FloatVector dv3 = FloatVector.broadcast(F, scales[sr3 + b]);
            s30 = a30.fma(dv3, s30);
            s31 = a31.fma(dv3, s31);
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 2) * 4;
        float q00 = 0f; float q01 = 0f;
        float q10 = 0f; float q11 = 0f;
        float q20 = 0f; float q21 = 0f;
        float q30 = 0f; float q31 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) >> 5;
            final float u0 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i), scales[sr0 + cb]);
            final float u1 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 1L * tl + i), scales[sr1 + cb]);
            final float u2 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 2L * tl + i), scales[sr2 + cb]);
            final float u3 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 3L * tl + i), scales[sr3 + cb]);
            q00 += u0 * x[x0 + full + i];
            q01 += u0 * x[x1 + full + i];
            q10 += u1 * x[x0 + full + i];
            q11 += u1 * x[x1 + full + i];
            q20 += u2 * x[x0 + full + i];
            q21 += u2 * x[x1 + full + i];
            q30 += u3 * x[x0 + full + i];
            q31 += u3 * x[x1 + full + i];
        }
        s00.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 0] = VectorMath.sum(buf, bo) + q00;
        s10.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 1] = VectorMath.sum(buf, bo) + q10;
        s20.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 2] = VectorMath.sum(buf, bo) + q20;
        s30.intoArray(buf, bo);
        y[(t + 0) * rows + r0 + 3] = VectorMath.sum(buf, bo) + q30;
        s01.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 0] = VectorMath.sum(buf, bo) + q01;
        s11.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 1] = VectorMath.sum(buf, bo) + q11;
        s21.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 2] = VectorMath.sum(buf, bo) + q21;
        s31.intoArray(buf, bo);
        y[(t + 1) * rows + r0 + 3] = VectorMath.sum(buf, bo) + q31;
    }
    /** Rows {@code r0 .. r0+3} (a full tile) for tokens {@code t .. t+0}. */
    private void tile4x1(int r0, int t, float[] x, int xsb, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int fbp = full / 32; // blocks in the vector part
        final long base = (long) r0 * rowBytes;
        final int sr0 = (r0 + 0) * nb;
        final int sr1 = (r0 + 1) * nb;
        final int sr2 = (r0 + 2) * nb;
        final int sr3 = (r0 + 3) * nb;
        final int x0 = (t + 0) * cols;
        final int xs0 = xsb + (t + 0) * fbp;
        FloatVector s00 = FloatVector.zero(F);
        FloatVector s10 = FloatVector.zero(F);
        FloatVector s20 = FloatVector.zero(F);
        FloatVector s30 = FloatVector.zero(F);
        for (int b = 0; b < fbp; b++) {
            final long off = base + QuantKernels.nibbleBlockByte(b, QuantKernels.TILE);
            final IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            final IntVector v1 = IntVector.fromMemorySegment(I, packed, off + GB, ByteOrder.LITTLE_ENDIAN);
            final IntVector v2 = IntVector.fromMemorySegment(I, packed, off + 2 * GB, ByteOrder.LITTLE_ENDIAN);
            final IntVector v3 = IntVector.fromMemorySegment(I, packed, off + 3 * GB, ByteOrder.LITTLE_ENDIAN);
            final FloatVector o0 = FloatVector.broadcast(F, x[xs0 + b]);
            FloatVector a00 = o0;
            FloatVector a10 = o0;
            FloatVector a20 = o0;
            FloatVector a30 = o0;
            final int c = x0 + b * 32;
            for (int j = 0; j < maskSteps; j++) {
                final IntVector m = IntVector.fromArray(I, QuantKernels.NIBBLE_MASKS, j * L);
                final FloatVector e = FloatVector.fromArray(F, x, c + j * L);
                a00 = ((FloatVector) v0.and(m).convert(VectorOperators.I2F, 0)).fma(e, a00);
                a10 = ((FloatVector) v1.and(m).convert(VectorOperators.I2F, 0)).fma(e, a10);
                a20 = ((FloatVector) v2.and(m).convert(VectorOperators.I2F, 0)).fma(e, a20);
                a30 = ((FloatVector) v3.and(m).convert(VectorOperators.I2F, 0)).fma(e, a30);
            }
            if (KPB > 4) { // 4-lane vectors: steps 4..7 of the block from loads 2 bytes on (a constant test)
                final IntVector h0 = IntVector.fromMemorySegment(I, packed, off + 2, ByteOrder.LITTLE_ENDIAN);
                final IntVector h1 = IntVector.fromMemorySegment(I, packed, off + GB + 2, ByteOrder.LITTLE_ENDIAN);
                final IntVector h2 = IntVector.fromMemorySegment(I, packed, off + 2 * GB + 2, ByteOrder.LITTLE_ENDIAN);
                final IntVector h3 = IntVector.fromMemorySegment(I, packed, off + 3 * GB + 2, ByteOrder.LITTLE_ENDIAN);
                for (int j = 4; j < KPB; j++) {
                    final IntVector m = IntVector.fromArray(I, QuantKernels.NIBBLE_MASKS, (j - 4) * L);
                    final FloatVector e = FloatVector.fromArray(F, x, c + j * L);
                    a00 = ((FloatVector) h0.and(m).convert(VectorOperators.I2F, 0)).fma(e, a00);
                    a10 = ((FloatVector) h1.and(m).convert(VectorOperators.I2F, 0)).fma(e, a10);
                    a20 = ((FloatVector) h2.and(m).convert(VectorOperators.I2F, 0)).fma(e, a20);
                    a30 = ((FloatVector) h3.and(m).convert(VectorOperators.I2F, 0)).fma(e, a30);
                }
            }
            s00 = a00.fma(FloatVector.broadcast(F, scales[sr0 + b]), s00);
            s10 = a10.fma(FloatVector.broadcast(F, scales[sr1 + b]), s10);
            s20 = a20.fma(FloatVector.broadcast(F, scales[sr2 + b]), s20);
            s30 = a30.fma(FloatVector.broadcast(F, scales[sr3 + b]), s30);
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 2) * 4;
        float q00 = 0f;
        float q10 = 0f;
        float q20 = 0f;
        float q30 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) >> 5;
            final float u0 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i), scales[sr0 + cb]);
            final float u1 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 1L * tl + i), scales[sr1 + cb]);
            final float u2 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 2L * tl + i), scales[sr2 + cb]);
            final float u3 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 3L * tl + i), scales[sr3 + cb]);
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
    private void row1(int r, int h, int t, float[] x, int xsb, float[] y, float[] buf, int bo) {
        final int L = Kernels.L;
        final int full = cols / G * G;
        final int fbp = full / 32; // blocks in the vector part
        final int r0 = r - r % QuantKernels.TILE;
        final int ri = r - r0;
        final long base = (long) r0 * rowBytes;
        final int sr0 = r * nb;
        final long start = base + (long) ri * GB;
        final int x0 = (t + 0) * cols;
        final int xs0 = xsb + (t + 0) * fbp;
        FloatVector s00 = FloatVector.zero(F);
        for (int b = 0; b < fbp; b++) { // a block a turn, loaded as the tile kernels load it
            final long off = start + QuantKernels.nibbleBlockByte(b, h);
            final IntVector v0 = IntVector.fromMemorySegment(I, packed, off, ByteOrder.LITTLE_ENDIAN);
            final IntVector h0 = KPB > 4 ? IntVector.fromMemorySegment(I, packed, off + 2, ByteOrder.LITTLE_ENDIAN) : v0;
            FloatVector a00 = FloatVector.broadcast(F, x[xs0 + b]);
            for (int j = 0; j < KPB; j++) {
                final FloatVector w0 = (FloatVector) (j < 4 ? v0 : h0).and(IntVector.fromArray(I, QuantKernels.NIBBLE_MASKS, (j & 3) * L))
                        .convert(VectorOperators.I2F, 0);
                a00 = w0.fma(FloatVector.fromArray(F, x, x0 + b * 32 + j * L), a00);
            }
            s00 = a00.fma(FloatVector.broadcast(F, scales[sr0 + b]), s00);
        }
        final int tl = cols - full;
        final long toff = base + (long) (full / 2) * h + (long) ri * tl;
        float q00 = 0f;
        for (int i = 0; i < tl; i++) {
            final int cb = (full + i) >> 5;
            final float u0 = unitTail(packed.get(ValueLayout.JAVA_BYTE, toff + 0L * tl + i), scales[sr0 + cb]);
            q00 += u0 * x[x0 + full + i];
        }
        s00.intoArray(buf, bo);
        y[t * rows + r] = VectorMath.sum(buf, bo) + q00;
    }
}
