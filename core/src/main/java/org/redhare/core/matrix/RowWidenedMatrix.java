package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.redhare.core.Parallel;
import org.redhare.core.ops.VectorMath;

/**
 * Weights whose rows are widened to floats by a plain loop into a per-thread row buffer, then multiplied from
 * there: {@link F16Matrix} (the CPU's half-to-float conversion, which the Vector API cannot express) and
 * {@link F32Matrix} (a copy). Decode takes two rows per pass; from {@value #TILE_MIN_TOKENS} tokens five rows are
 * widened into the {@link FloatTiles} layout once per token block and the shared 5-row x 4-token micro-kernel
 * runs on them, as for BF16 and FP8.
 *
 * <p><b>Batch invariance.</b> Columns stay in natural order. Every {@code y[t, r]} is one vector accumulator
 * fed, for each full block of {@code B = 2L} columns, the product of the block's first L floats and then of
 * its second L floats; then {@code VectorMath.sum}'s fixed lane order (or the bit-identical {@code sum16}); then
 * the tail columns in order. The one-row kernels and the prompt's five-row tile ({@link FloatTiles}) differ only
 * in how many rows and tokens share a widened weight vector, so a token gets the same bits alone or in any batch.
 */
abstract sealed class RowWidenedMatrix implements WeightMatrix, ExactRows permits F16Matrix, F32Matrix {

    /** From this many tokens on, five rows are widened into a tile shared by every group of four tokens. */
    private static final int TILE_MIN_TOKENS = 8;
    private static final int TILE_ROWS = FloatTiles.ROWS;

    protected final int rows;
    protected final int cols;

    RowWidenedMatrix(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
    }

    @Override public final int rows() { return rows; }
    @Override public final int cols() { return cols; }

    /** The row-major weights where the machine code can read them (native memory), else null. */
    abstract MemorySegment nativeRows();

    /** Widens the {@code count} weights from element {@code element} of the row-major matrix into {@code dst[off ...]}. */
    abstract void widen(long element, float[] dst, int off, int count);

    /** The weight at element {@code element} of the row-major matrix. */
    abstract float weight(long element);

    @Override
    public final void multiply(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        final MemorySegment data = nativeRows();
        final boolean half = this instanceof F16Matrix;
        if (n <= NATIVE_TOKENS && (NativeKernels.available() || AVX2 && half) && data != null && cols % Kernels.PAIR_BLOCK == 0) {
            final long ahead = NativeKernels.halvesAhead();
            final int scratch = Math.max(cols, n * cols + 15);
            pool.forRange((rows + 3) / 4, Math.max(1, Kernels.rowGrain(rows, pool.threads()) / 4), 1, (q0, q1, w) -> {
                float[] buf = pool.workerScratch(w, scratch);
                final int whole = Math.min(q1, rows / 4);
                for (int q = q0; q < whole; q += NativeKernels.DECODE_TILES) {
                    final int k = Math.min(NativeKernels.DECODE_TILES, whole - q);
                    if (NativeKernels.available()) {
                        NativeKernels.f16Tokens(data, half, 4L * q, k, n <= 2, cols, n, rows, x, y, 4 * q, buf, ahead);
                    } else { // AVX2: F16 only
                        Avx2Kernels.f16Tokens(data, 4L * q, k, n <= 2, cols, n, rows, x, y, 4 * q, buf, ahead);
                    }
                }
                for (int r = 4 * Math.max(q0, whole); r < Math.min(rows, 4 * q1); r++) { // at most three rows
                    rowTokens(r, x, 0, n, y, buf, 0);
                }
            });
            return;
        }
        if (n < TILE_MIN_TOKENS) {
            rowsInJava(pool, x, n, y);
            return;
        }
        final int B = Kernels.PAIR_BLOCK;
        int full = cols / B * B;
        final int panels = FloatTiles.aligned(0);
        final int grouped = FloatTiles.groupedTokens(n);
        float[] xp = pool.scratch(panels + Math.max(1, grouped * full));
        Kernels.packTokens4(pool, x, n, grouped, cols, full, FloatTiles.PANEL_CHUNK, xp, panels);
        int chunk = FloatTiles.chunkColumns(full);
        int block = FloatTiles.tokenBlock(n, cols);
        int scratch = FloatTiles.TILE_AT + TILE_ROWS * chunk + block / 4 * TILE_ROWS * 4 * Kernels.L + TILE_ROWS * 4 * Kernels.L + 16 + cols
                + (NATIVE_GROUPS ? Kernels.L + 20 * (block / 4) : 0);
        int grain = (Kernels.rowGrain(rows, pool.threads()) + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS;
        pool.forRange(rows, grain, TILE_ROWS, (r0, r1, w) -> computeTiles(x, xp, panels, n, grouped, y, r0, r1, pool.workerScratch(w, scratch)));
    }

    /**
     * Up to this many tokens run through {@link NativeKernels#f16Tokens} where it can run (rows in native memory, of whole
     * 32-column blocks): 16 halves widened at once by the CPU's conversion, in registers, each row's block feeding every
     * token of a group of up to five. Same FMAs in the same order as {@link #dot1} and {@link #dot4}, so the same bits.
     * `QuickMatrixRates DTYPE SHAPE N 1` (G products a second, one thread, AMD EPYC Zen 4; before -> after): f16
     * [4864x896] 1 token 11.6 -> 28.2, 2 15.3 -> 42.1, 4 13.2 -> 51.5, 8 38.5 -> 51.4, 16 38.3 -> 52.3; from DRAM
     * [151936x896] 1 token 6.5 -> 11.3 (13.0 -> 22.7 GB/s), 2 8.6 -> 23.9, 16 27.2 -> 50.2; f32 [4864x896] 1 token 5.3 ->
     * 12.5, 16 27.0 -> 31.3. One or two tokens take four rows a quarter of a call's rows apart (four sequential streams,
     * as {@link Bf16Matrix}'s two-token pass): f16 [151936x896] one thread, 1 token 20.9-22.0 -> 26.0-27.0 GB/s, 2 tokens
     * 24.6-25.0 -> 25.7-27.4; with 8 and 16 tokens the spread rows measured 1-2% slower (fifty-fifth session). bench
     * qwen2.5-0.5b F16 (synth) one thread: one user 24.3-25.8 -> 27.3-28.8 tok/s, two 47.3-50.9 -> 49.8-53.9.
     */
    private static final int NATIVE_TOKENS = 16;

    /**
     * Whether F16 rows take {@link Avx2Kernels#f16Tokens} (CPUs with AVX2 and no AVX-512) up to {@link #NATIVE_TOKENS}
     * tokens, as they take {@link NativeKernels#f16Tokens} on AVX-512. JVM limited to AVX2 on the AMD EPYC Zen 5 host,
     * `QuickMatrixRates f16 SHAPE N 1`, Java -> machine code: [4864x896] 1 token 13.0 -> 22.3 G weights/s, 4 tokens 17.0
     * -> 36.9 G products/s, 16 26.9 -> 41.2; [151936x896] from DRAM 1 token 18.4 -> 32.6 GB/s (membw 31.9); bench
     * qwen2.5-0.5b F16 one user 15.9-16.8 -> 30.6-31.4 tok/s (sixty-eighth session).
     */
    private static final boolean AVX2 = Avx2Kernels.f16Available();

    /**
     * The product through the Java kernels alone (what a host without the machine code runs): tests compare the native
     * path's bits with it.
     */
    final void multiplyInJava(Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        rowsInJava(pool, x, n, y);
    }

    /** Four rows at a time widened into a row buffer ({@link #rows4Tokens}), the rows left over one by one. */
    private void rowsInJava(Parallel pool, float[] x, int n, float[] y) {
        pool.forRange(rows, Kernels.rowGrain(rows, pool.threads()), (r0, r1, w) -> {
            float[] four = pool.workerScratch(w, 4 * cols);
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                rows4Tokens(r, x, n, y, four);
            }
            for (; r < r1; r++) { // at most three rows
                rowTokens(r, x, 0, n, y, four, 0);
            }
        });
    }

    /** Tokens {@code t0 <= t < t1} of row {@code r}: the row widened once into {@code buf[off ...]}, then four tokens at a time. */
    /** One token, rows {@code ids[0 .. count)} only, through the one-row kernel ({@link ScreenedHead}); same bits as {@link #multiply}. */
    @Override
    public final void multiplyRows(float[] x, int[] ids, int count, float[] y, float[] scratch) {
        MatrixChecks.operands(this, x, 1, y);
        for (int i = 0; i < count; i++) {
            rowTokens(ids[i], x, 0, 1, y, scratch, 0);
        }
    }

    private void rowTokens(int r, float[] x, int t0, int t1, float[] y, float[] buf, int off) {
        widen((long) r * cols, buf, off, cols);
        int t = t0;
        for (; t + 4 <= t1; t += 4) {
            dot4(buf, off, x, t, y, r);
        }
        for (; t < t1; t++) {
            dot1(buf, off, x, t, y, r);
        }
    }

    /**
     * Rows {@code r .. r + 3} for all {@code n} tokens: the four rows widened into {@code buf}, then each token's
     * four dot products as four independent FMA chains (one chain alone is bound by the FMA latency: 6.0-6.5 G
     * weights/s from cache on the Intel host against BF16's 12; two chains still were on the AMD host). Same
     * arithmetic per row, same bits. Measured there (`QuickMatrixRates DTYPE SHAPE 1`, one thread, a temporary
     * switch alternating, G weights/s): f16 [4864 x 896] 6.4-6.6 -> 8.3-8.7, [151936 x 896] 4.5-4.6 ->
     * 4.4-5.2; f32 [4864 x 896] 4.8-5.1 -> 5.3-6.2, [151936 x 896] 2.9-3.0 -> 3.4-3.5.
     */
    private void rows4Tokens(int r, float[] x, int n, float[] y, float[] buf) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        widen((long) r * cols, buf, 0, 4 * cols);
        int t = 0;
        for (; t + 4 <= n; t += 4) {
            for (int k = 0; k < 4; k++) {
                dot4(buf, k * cols, x, t, y, r + k);
            }
        }
        final int o1 = cols, o2 = 2 * cols, o3 = 3 * cols;
        for (; t < n; t++) {
            final int xo = t * cols;
            FloatVector a0 = FloatVector.zero(Kernels.F), a1 = FloatVector.zero(Kernels.F);
            FloatVector a2 = FloatVector.zero(Kernels.F), a3 = FloatVector.zero(Kernels.F);
            for (int c = 0; c < full; c += B) {
                FloatVector xe = FloatVector.fromArray(Kernels.F, x, xo + c);
                FloatVector xd = FloatVector.fromArray(Kernels.F, x, xo + c + L);
                a0 = FloatVector.fromArray(Kernels.F, buf, c + L).fma(xd, FloatVector.fromArray(Kernels.F, buf, c).fma(xe, a0));
                a1 = FloatVector.fromArray(Kernels.F, buf, o1 + c + L).fma(xd, FloatVector.fromArray(Kernels.F, buf, o1 + c).fma(xe, a1));
                a2 = FloatVector.fromArray(Kernels.F, buf, o2 + c + L).fma(xd, FloatVector.fromArray(Kernels.F, buf, o2 + c).fma(xe, a2));
                a3 = FloatVector.fromArray(Kernels.F, buf, o3 + c + L).fma(xd, FloatVector.fromArray(Kernels.F, buf, o3 + c).fma(xe, a3));
            }
            y[t * rows + r] = tail(buf, 0, x, xo, VectorMath.sum(a0));
            y[t * rows + r + 1] = tail(buf, o1, x, xo, VectorMath.sum(a1));
            y[t * rows + r + 2] = tail(buf, o2, x, xo, VectorMath.sum(a2));
            y[t * rows + r + 3] = tail(buf, o3, x, xo, VectorMath.sum(a3));
        }
    }

    private void dot1(float[] w, int wo, float[] x, int t, float[] y, int r) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final int xo = t * cols;
        FloatVector a = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            a = FloatVector.fromArray(Kernels.F, w, wo + c).fma(FloatVector.fromArray(Kernels.F, x, xo + c), a);
            a = FloatVector.fromArray(Kernels.F, w, wo + c + L).fma(FloatVector.fromArray(Kernels.F, x, xo + c + L), a);
        }
        y[t * rows + r] = tail(w, wo, x, xo, VectorMath.sum(a));
    }

    private void dot4(float[] w, int wo, float[] x, int t, float[] y, int r) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(Kernels.F), a1 = FloatVector.zero(Kernels.F);
        FloatVector a2 = FloatVector.zero(Kernels.F), a3 = FloatVector.zero(Kernels.F);
        for (int c = 0; c < full; c += B) {
            FloatVector we = FloatVector.fromArray(Kernels.F, w, wo + c);
            FloatVector wd = FloatVector.fromArray(Kernels.F, w, wo + c + L);
            a0 = wd.fma(FloatVector.fromArray(Kernels.F, x, x0 + c + L), we.fma(FloatVector.fromArray(Kernels.F, x, x0 + c), a0));
            a1 = wd.fma(FloatVector.fromArray(Kernels.F, x, x1 + c + L), we.fma(FloatVector.fromArray(Kernels.F, x, x1 + c), a1));
            a2 = wd.fma(FloatVector.fromArray(Kernels.F, x, x2 + c + L), we.fma(FloatVector.fromArray(Kernels.F, x, x2 + c), a2));
            a3 = wd.fma(FloatVector.fromArray(Kernels.F, x, x3 + c + L), we.fma(FloatVector.fromArray(Kernels.F, x, x3 + c), a3));
        }
        y[t * rows + r] = tail(w, wo, x, x0, VectorMath.sum(a0));
        y[(t + 1) * rows + r] = tail(w, wo, x, x1, VectorMath.sum(a1));
        y[(t + 2) * rows + r] = tail(w, wo, x, x2, VectorMath.sum(a2));
        y[(t + 3) * rows + r] = tail(w, wo, x, x3, VectorMath.sum(a3));
    }

    /** Adds the columns past the last full block of the widened row at {@code w[wo ...]}, in order, to {@code s}. */
    private float tail(float[] w, int wo, float[] x, int xo, float s) {
        for (int c = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK; c < cols; c++) {
            s += w[wo + c] * x[xo + c];
        }
        return s;
    }

    /**
     * Many tokens: for each five rows and column chunk, the rows are widened (through {@code buf}'s row buffer)
     * into the {@link FloatTiles} layout once per token block, and the 5-row x 4-token micro-kernel runs on it
     * for every group of four tokens. Scratch: {@code [TILE_AT][tile 5 * chunk][accumulators per group][sums][row: cols]}; the panels of four
     * tokens start at {@code xp[panels]}.
     */
    private void computeTiles(float[] x, float[] xp, int panels, int n, int grouped, float[] y, int r0, int r1, float[] buf) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int full = cols / B * B;
        final int chunk = FloatTiles.chunkColumns(full);
        final int block = FloatTiles.tokenBlock(n, cols);
        final int accs = FloatTiles.TILE_AT + TILE_ROWS * chunk;
        final int group = TILE_ROWS * 4 * L;
        final int sums = accs + block / 4 * group;
        final int row = sums + group + 16;
        final int groupSums = FloatTiles.aligned(row + cols); // the machine code's lane sums, 20 a group
        for (int t0 = 0; t0 < n; t0 += block) {
            int t1 = Math.min(n, t0 + block);
            int g1 = Math.min(grouped, t0 + block); // end of the 4-token groups; tokens g1 .. t1-1 (none if padded) take a one-row path
            int r = r0;
            for (; r + TILE_ROWS <= r1; r += TILE_ROWS) {
                int c0 = 0;
                do { // at least once: rows shorter than one block still get their tails and stores
                    int c1 = Math.min(full, c0 + chunk);
                    MemorySegment widens = NATIVE_GROUPS && g1 > t0 && (c1 - c0) % (2 * B) == 0 ? nativeRows() : null;
                    if (widens == null) {
                        widenTile(r, c0, c1, buf, row);
                    }
                    if (NATIVE_GROUPS && g1 > t0) {
                        int groups = (g1 - t0) / 4;
                        if (widens != null) { // the first group widens the tile in the machine code
                            NativeKernels.f16TileGroups(widens, this instanceof F16Matrix, r, cols, (c1 - c0) / B, groups, xp, panels + t0 * full,
                                    full, buf, FloatTiles.TILE_AT, accs, groupSums, c0 == 0, c1 == full, c0);
                        } else {
                            NativeKernels.f32TileGroups((c1 - c0) / B, groups, xp, panels + t0 * full, full, buf, FloatTiles.TILE_AT, accs,
                                    groupSums, c0 == 0, c1 == full, c0);
                        }
                        for (int g = 0; c1 == full && g < groups; g++) {
                            finishSums(buf, groupSums + 20 * g, x, y, r, t0 + 4 * g, Math.min(4, n - t0 - 4 * g));
                        }
                    }
                    for (int t = t0; t + 4 <= g1 && !NATIVE_GROUPS; t += 4) {
                        int acc = accs + (t - t0) / 4 * group;
                        FloatTiles.tile5tokens4(buf, c0, c1, xp, panels + t * full, c0 == 0 ? FloatTiles.ZERO_ACCUMULATORS : buf, c0 == 0 ? 0 : acc,
                                c1 == full ? sums : acc);
                        if (c1 == full) {
                            finish(buf, sums, row, x, y, r, t, Math.min(4, n - t));
                        }
                    }
                    c0 = c1;
                } while (c0 < full);
                for (int k = 0; k < TILE_ROWS && g1 < t1; k++) {
                    rowTokens(r + k, x, g1, t1, y, buf, row);
                }
            }
            for (; r < r1; r++) {
                rowTokens(r, x, t0, t1, y, buf, row);
            }
        }
    }

    /** Columns {@code [c0, c1)} of rows {@code r..r+4} into the tile at {@code tile[FloatTiles.TILE_AT ...]} ({@code [block][row][B floats]}, or half blocks: {@link FloatTiles#ROW_STEP}), via the row buffer. */
    private void widenTile(int r, int c0, int c1, float[] tile, int row) {
        final int L = Kernels.L;
        final int B = Kernels.PAIR_BLOCK;
        final int w = c1 - c0;
        for (int k = 0; k < TILE_ROWS; k++) {
            widen((long) (r + k) * cols + c0, tile, row, w);
            for (int b = 0, p = FloatTiles.TILE_AT + k * FloatTiles.ROW_STEP; b < w; b += B, p += TILE_ROWS * B) {
                FloatVector.fromArray(Kernels.F, tile, row + b).intoArray(tile, p);
                FloatVector.fromArray(Kernels.F, tile, row + b + L).intoArray(tile, p + FloatTiles.HALF_STEP);
            }
        }
    }

    /** Lane sums of the 20 accumulators at {@code buf[sums ...]} plus each row's tail columns, into {@code y}. */
    private void finish(float[] buf, int sums, int row, float[] x, float[] y, int r, int t, int tokens) {
        final int L = Kernels.L;
        final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
        VectorMath.sum16(buf, sums, buf, sums + 20 * L);
        for (int j = 0; j < tokens; j++) {
            for (int i = 0; i < 4; i++) {
                y[(t + j) * rows + r + i] = tailFromMemory(r + i, x, (t + j) * cols, full, buf[sums + 20 * L + 4 * j + i]);
            }
            y[(t + j) * rows + r + 4] = tailFromMemory(r + 4, x, (t + j) * cols, full, VectorMath.sum(buf, sums + (16 + j) * L));
        }
    }

    /** {@link #finish} for lane sums made already, at {@code buf[s ..]}: row i (0..3) of token j at {@code s + 4j + i}, row 4 at {@code s + 16 + j}. */
    private void finishSums(float[] buf, int s, float[] x, float[] y, int r, int t, int tokens) {
        final int full = cols / Kernels.PAIR_BLOCK * Kernels.PAIR_BLOCK;
        for (int j = 0; j < tokens; j++) {
            for (int i = 0; i < 4; i++) {
                y[(t + j) * rows + r + i] = tailFromMemory(r + i, x, (t + j) * cols, full, buf[s + 4 * j + i]);
            }
            y[(t + j) * rows + r + 4] = tailFromMemory(r + 4, x, (t + j) * cols, full, buf[s + 16 + j]);
        }
    }

    /**
     * Whether the many-token pass runs in machine code ({@link NativeKernels#f16TileGroups}: the first token group widens
     * the tile from the rows in memory and takes its FMAs on the way, the other groups run over the tile; or, for weights
     * on the heap and chunks of an odd number of 32-column blocks, {@link NativeKernels#f32TileGroups} over the tile
     * {@link #widenTile} made), as {@link Fp8BlockMatrix}'s does: the same floats and FMAs in the same order, so the
     * same bits. Widening in the machine code rather than in Java (fifty-first session, alternated): `QuickMatrixRates
     * SHAPE 4864x896 16 1` f16 32.4 -> 35.6, f32 21.4 -> 28.2 G products/s; from DRAM (`ManyMatrixRates f16 4864x896 60
     * 16 1`) F16 level at 26.6-27.8 (its bound there is not the widen, and not known: a prefetch of the next tile's rows
     * before the call did not help), F32 (`f32 4864x896 30 16 1`) 17.5 / 19.3 -> 22.5 / 22.3; 512 tokens level.
     */
    private static final boolean NATIVE_GROUPS = NativeKernels.available() && !FloatTiles.SPLIT;

    /** {@link #tail} reading the row's tail halves from memory (the tile holds only full blocks). */
    private float tailFromMemory(int r, float[] x, int xo, int full, float s) {
        long base = (long) r * cols;
        for (int c = full; c < cols; c++) {
            s += weight(base + c) * x[xo + c];
        }
        return s;
    }

    @Override
    public final void row(int r, float[] dst, int off) {
        widen((long) r * cols, dst, off, cols);
    }
}
