package org.redhare.core.matrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.redhare.core.NativeMemory;
import org.redhare.core.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Greedy (and top-k) decoding through a 16-bit LM head for about half its bytes (a 32-bit one for a quarter), with the
 * exact argmax (and top k).
 *
 * <p>On small models the LM head is the largest matrix a decoded token reads: 272 of the 630 MB of an FP8 checkpoint of
 * Qwen2.5-0.5B as published (its head stays in BF16), a fifth of Llama-3.2-1B in BF16. A greedy token needs only the
 * argmax of the logits. So this keeps a coarse int8 copy of the head beside it (a float scale per row, {@link
 * Int8RowMatrix}: a byte a weight) and, per row {@code r}, a bound {@code c[r]} such that the logit the exact head computes
 * and the one the copy computes differ by at most {@code c[r] * |x|} ({@code |x|} the Euclidean norm of the hidden state):
 * {@code c[r] = |w_r - q_r| + g (|w_r| + |q_r|)}, the first term the quantization error (Cauchy-Schwarz), the second
 * covering both kernels' float rounding ({@code g} four times the textbook bound for summing {@code cols + 64}
 * products). One token then reads the copy, takes {@code M = max(A[r] - c[r]|x|)} over the rows, and computes exactly
 * (with the exact head's own kernel, so the same bits) only the rows whose upper bound {@code A[r] + c[r]|x|} reaches
 * {@code M}: every other row's exact logit is below {@code M}, which the row attaining {@code M} exceeds, so the argmax
 * is among them. The logits written are exact for those rows and the coarse values, all below the argmax, elsewhere.
 *
 * <p>The bound is loose (Cauchy-Schwarz assumes the error aligned with the hidden state), yet with an int8 copy it is
 * about 1% of {@code |w_r| |x|}: a few rows pass on random-weight models, whose logits are flat, and on trained ones.
 * Where many would (a degenerate state), or the state is not finite, the whole exact head runs instead.
 *
 * <p>Why a scale per row and not Q8_0's per 32 columns: the bound is about 1.6 times as loose (on the 0.5B's head shape
 * with random weights, 5 rows computed exactly for the argmax instead of 3, 227 for the 40 largest instead of 138), but
 * the copy is 11% smaller and its loop two operations a vector shorter (no scale to broadcast and multiply):
 * `HeadScreenBench`, one thread, [151936x896] 59.6 -> 75.6 calls a second, [128256x2048] 31.5 -> 42.2 (the exact
 * head: 40.1 and 24.4).
 *
 * <p>The same holds for the {@code k} largest logits ({@link #topLogits}), which is all that top-k sampling reads.
 *
 * <p>Where machine code multiplies the copy's bytes in integers ({@link Int8RowMatrix#dotsAvailable}: AVX512-VNNI, or
 * AVX2 with AVX-VNNI's {@code VPDPBUSD} or without it) one token is screened in integers too, as batches are: its
 * activations quantized to a byte a value, the copy's rows multiplied by them four products an operation (AVX2 alone:
 * two, then pairs widened), each bound widened by the activations' rounding. Widened to floats the codes cost about
 * three times the operations, and on one thread that, not memory, set the screen's pace (Llama-3.2-1B's head from DRAM:
 * 21 GB/s in floats, 39-42 in integers at 512 bits; in cache at 256 bits 29 GB/s in floats, 70 in integers, 92 with
 * AVX-VNNI). The wider bound lets more rows through (tens to hundreds where floats let a few to tens through), a small
 * cost beside the head; where it lets too many through, the token is screened in floats ({@link #FLOAT_RUN}).
 *
 * <p>An FP8 head ({@link Fp8BlockMatrix}, what {@code --quantize fp8} makes of a BF16 one) is screened too, where
 * batches screen in integers ({@link #screensBatches}): its copy has as many bytes, so one token reads no less, but
 * several tokens at once multiply bytes in integers (VNNI's {@code VPDPBUSD}: four products an operation) where the
 * exact head widens every code and takes one FMA a product, the step's largest matrix on small models. Its rows' weights are the
 * codes times their block scales ({@link Fp8BlockMatrix#row}), and its kernel's roundings (one per scaled activation,
 * one per FMA) are within the bound's {@code g}, as the 16-bit heads' are.
 *
 * <p>Only for callers that need the argmax, or the {@code k} largest logits, alone: greedy or top-k sampling without
 * logprobs (one token also with penalties, {@link LogitAdjustment}). Several tokens at once (a batch of users) are
 * screened in integers where machine code multiplies bytes ({@link #screensBatches}); elsewhere they take the exact
 * head: there the head is bound by arithmetic, and widened int8 paths are slower than the BF16 one (`QuickMatrixRates` [151936 x
 * 896], 16 tokens: Q8_0 27 against BF16 48 G weights/s). Memory: the copy, kept beside the head that embedding lookups
 * and other requests still use.
 */
public final class ScreenedHead {
    private static final float ROUND = 0x1.8p23f;
    /** Covers the double rounding of the bound's own sums, with room to spare. */
    private static final double SLACK = 1 + 1e-6;
    /** More candidates than one in this many rows and the exact head runs instead (a flat or degenerate state). */
    private static final int MAX_CANDIDATE_SHARE = 16;

    private final WeightMatrix exact;
    private final ExactRows exactRows;
    private final Int8RowMatrix coarse;
    private final float[] bound; // [rows] c[r], rounded up
    private final float[] qNorm; // [rows] |q_r|, the coarse row's norm (codes times scale), rounded up
    private final int[] rowOffset; // [rows] the row's code sum times Int8RowMatrix.dotsOffset: its sums' part beyond the products
    private final int rows;
    private final int cols;
    private int[] candidates = new int[64];
    private float[] xp = new float[0];
    private double[] lows = new double[1];
    private float[] changedCoarse = new float[0]; // rows a LogitAdjustment changes: coarse logit, changed bounds
    private float[] changedHigh = new float[0];
    private double[] changedLow = new double[0];
    private int lastCandidates = -1;
    // The one-token passes over the rows in parts (one a thread, in row order, see passParts): each part's lower bounds,
    // how many it holds, its -inf logits (-1: a logit not finite otherwise), its candidates and how many (-1: over the limit).
    private double[][] partLows = new double[0][];
    private int[] partHeld = new int[0];
    private int[] partInf = new int[0];
    private int[][] partCands = new int[0][];
    private int[] partN = new int[0];

    private ScreenedHead(WeightMatrix exact, Int8RowMatrix coarse, float[] bound, float[] qNorm, int[] rowOffset) {
        this.exact = exact;
        this.exactRows = (ExactRows) exact;
        this.coarse = coarse;
        this.bound = bound;
        this.qNorm = qNorm;
        this.rowOffset = rowOffset;
        this.rows = exact.rows();
        this.cols = exact.cols();
    }

    /**
     * A screen for {@code head}, quantized over the pool's threads; null where there is none (BF16, F16 and F32 heads
     * with finite weights only).
     */
    public static ScreenedHead of(Parallel pool, WeightMatrix head) {
        if (!(head instanceof ExactRows)) {
            return null; // the GGUF types: already as small as a copy, or smaller, and their batches multiply integers
        }
        if (!(bytes(head.rows(), head.cols()) < head.bytes()) && !(BATCHES.atStart && Int8RowMatrix.dotsAvailable(head.rows(), head.cols()))) {
            return null; // FP8: a copy of as many bytes, worth its memory only where batches screen in integers
        }
        WeightMatrix bf = head; // BF16, F16, F32 or FP8
        int rows = bf.rows();
        int cols = bf.cols();
        MemorySegment packed = NativeMemory.allocate((long) rows * cols);
        float[] scales = new float[rows];
        float[] bound = new float[rows];
        float[] qNorm = new float[rows];
        int[] rowOffset = new int[rows];
        int offset = Int8RowMatrix.dotsOffset();
        double g = 4.0 * (cols + 64) * 0x1p-24;
        int tiles = (rows + QuantKernels.TILE - 1) / QuantKernels.TILE;
        pool.forRange(tiles, Math.max(16, tiles / (8 * pool.threads())), (t0, t1, w) -> {
            float[] row = pool.workerScratch(w, cols);
            byte[] q = new byte[QuantKernels.TILE * cols];
            byte[] tile = new byte[QuantKernels.TILE * cols];
            for (int t = t0; t < t1; t++) { // quantized a tile of rows at a time, straight into the kernel's layout
                int r0 = t * QuantKernels.TILE;
                int h = Math.min(QuantKernels.TILE, rows - r0);
                for (int i = 0; i < h; i++) {
                    bf.row(r0 + i, row, 0);
                    bound[r0 + i] = quantizeRow(row, cols, q, i * cols, scales, r0 + i, g, qNorm);
                    int sum = 0;
                    for (int c = 0; c < cols; c++) {
                        sum += q[i * cols + c];
                    }
                    rowOffset[r0 + i] = offset * sum;
                }
                QuantKernels.packTile(q, tile, h, cols);
                MemorySegment.copy(tile, 0, packed, ValueLayout.JAVA_BYTE, (long) r0 * cols, h * cols);
            }
        });
        for (float c : bound) {
            if (!Float.isFinite(c)) {
                return null; // a weight that is not finite: nothing to bound it by
            }
        }
        return new ScreenedHead(bf, new Int8RowMatrix(packed, scales, rows, cols), bound, qNorm, rowOffset);
    }

    /**
     * One row into int8 codes {@code q[qo ..]} and its scale {@code scales[r]}, the coarse row's norm into {@code qNorm[r]}
     * (rounded up); returns its bound {@code c} (rounded up).
     * Scalar on purpose: this runs once, at load, and Vector API code is slow until C2 compiles it.
     */
    private static float quantizeRow(float[] row, int cols, byte[] q, int qo, float[] scales, int r, double g, float[] qNorm) {
        float m = 0f;
        for (int i = 0; i < cols; i++) {
            m = Math.max(m, Math.abs(row[i]));
        }
        float d = m / 127f;
        float inv = m == 0f ? 0f : 127f / m; // the codes need not round exactly: the error summed is theirs
        scales[r] = d;
        double err = 0, nw = 0, nq = 0;
        for (int i = 0; i < cols; i++) {
            // Rounded by adding and subtracting 1.5 * 2^23 (|row[i] * inv| <= 127): Math.round's branches mispredict on
            // weights and took 2.7x as long (8.7 against 3.2 ns a weight).
            int c = (int) ((row[i] * inv + ROUND) - ROUND);
            q[qo + i] = (byte) c;
            double w = row[i];
            double wq = (double) c * d; // exact in double
            err += (w - wq) * (w - wq);
            nw += w * w;
            nq += wq * wq;
        }
        qNorm[r] = Math.nextUp((float) (Math.sqrt(nq) * SLACK));
        return Math.nextUp((float) ((Math.sqrt(err) + g * (Math.sqrt(nw) + Math.sqrt(nq))) * SLACK));
    }

    /** Bytes one screened token reads, and the screen's memory: the coarse copy and the bounds (the few exact rows aside). */
    public long bytes() {
        return bytes(rows, cols);
    }

    /** {@link #bytes} of a screen of a {@code [rows, cols]} head: the codes, and a scale and a bound a row. */
    private static long bytes(int rows, int cols) {
        return (long) rows * cols + 8L * rows;
    }

    /**
     * Whether {@link #topLogits(Parallel, float[], int, int, float[])} screens several tokens at once here: where machine
     * code multiplies the copy's bytes in integers ({@link Int8RowMatrix#dotsAvailable}: AVX512-VNNI with 16-float
     * vectors, AVX2 with or without AVX-VNNI with 8), on a head of whole four-row tiles and groups of {@code 4 L} columns
     * (and one token goes through integers first, {@link #integerScreen}). Elsewhere a batch takes the exact head: widened
     * to floats, int8 rows are slower than BF16 ones once several tokens share them.
     */
    public boolean screensBatches() {
        return BATCHES.on() && coarse.dotsAvailable();
    }

    /**
     * Whether one token should go through the screen: where the copy reads fewer bytes than the head (a 16- or 32-bit
     * one). An FP8 head's copy has as many (a few more), and its candidate pass costs more than it saves: Qwen2.5-0.5B with {@code
     * --quantize fp8}, one token on two threads, 56.3-59.9 tok/s screened against 58.1-78.0 with the FP8 head (three
     * alternated runs of `bench --quantize fp8 --head-screen auto|off -p 0 -n 128 -r 3 -t 2`, sixty-fourth session).
     * Such a screen serves batches alone ({@link #screensBatches}); {@link #topLogits(Parallel, float[], int, float[])}
     * still gives the exact largest logits if called.
     */
    public boolean screensOneToken() {
        return bytes() < exact.bytes();
    }

    /**
     * A screen path that can be turned off for measuring: at start by {@code -Dredhare.NAME=false} (or 0), at run time
     * through {@link KernelSettings}.
     */
    static final class Switch {
        /** Its value at start, which {@link KernelSettings#apply} goes back to where it is not given. */
        final boolean atStart;
        private volatile boolean on;

        private Switch(String name) {
            atStart = !List.of("false", "0").contains(System.getProperty("redhare." + name, "true"));
            on = atStart;
        }

        boolean on() {
            return on;
        }

        void set(boolean value) {
            on = value;
        }
    }

    /** {@code screenBatches}: off, batches take the exact head; off at start, an FP8 head gets no screen either. */
    static final Switch BATCHES = new Switch("screenBatches");

    /** {@code screenOneTokenDots}: off, one token screens in floats where it could in integers. */
    static final Switch ONE_TOKEN_DOTS = new Switch("screenOneTokenDots");

    /** The coarse copy and row {@code r}'s bound, for tests. */
    WeightMatrix coarse() {
        return coarse;
    }

    float bound(int r) {
        return bound[r];
    }

    /** Rows computed exactly by the last {@link #topLogits} call, or -1 if it ran the whole exact head. */
    public int lastCandidates() {
        return lastCandidates;
    }

    /** The argmax alone: {@link #topLogits} with {@code k = 1}. */
    public void argmaxLogits(Parallel pool, float[] x, float[] logits) {
        topLogits(pool, x, 1, logits);
    }

    /**
     * Logits of one token ({@code x} of {@code cols} floats) into {@code logits[0 .. rows)}: exact (the bits
     * {@link WeightMatrix#multiply} gives) for every row that could be among the {@code k} largest, coarse values below
     * the {@code k}-th largest exact logit for the others. So the {@code k} largest logits, their rows, and their order
     * (first row on ties) are the exact head's; nothing else is.
     *
     * <p>Why: let {@code T} be the {@code k}-th largest lower bound {@code A[r] - c[r]|x|}. The {@code k} rows attaining
     * the largest lower bounds have exact logits of at least {@code T}; a row whose upper bound {@code A[r] + c[r]|x|} is
     * below {@code T} has an exact logit, and a coarse one, below all {@code k} of them. Only rows reaching {@code T} are
     * computed exactly.
     */
    public void topLogits(Parallel pool, float[] x, int k, float[] logits) {
        topLogits(pool, x, k, logits, null);
    }

    /**
     * {@link #topLogits(Parallel, float[], int, float[])} for a caller that then changes some logits by {@code adjust}
     * (penalties; null for none): the {@code k} largest logits after the change, their rows and order, are those the
     * exact head's logits would give. Each changed row's bounds go through {@code adjust} (which does not decrease), so
     * its changed exact logit lies between them; a changed row that is not computed exactly keeps its coarse logit, which
     * the change takes below the {@code k} largest as it does the upper bound.
     */
    public void topLogits(Parallel pool, float[] x, int k, float[] logits, LogitAdjustment adjust) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        double nx = 0;
        for (int c = 0; c < cols; c++) {
            nx += (double) x[c] * x[c];
        }
        nx = Math.sqrt(nx) * (1 + 1e-9);
        if (!Double.isFinite(nx) || k > rows / MAX_CANDIDATE_SHARE) {
            exactHead(pool, x, logits);
            return;
        }
        if (ONE_TOKEN_DOTS.on() && coarse.dotsAvailable()) {
            if (floatRun > 0) {
                floatRun--;
            } else if (integerScreen(pool, x, nx, k, logits, adjust)) {
                return;
            } else {
                floatRun = FLOAT_RUN;
            }
        }
        widening = -1; // the screen in floats: for the token the integers gave up on too
        coarse.multiply(pool, x, 1, logits);
        if (!screenCoarse(pool, x, nx, k, logits, adjust)) {
            exactHead(pool, x, logits);
        }
    }

    /**
     * The rest of a one-token screen, from the coarse logits in {@code logits} ({@link #width} says how far each may lie
     * from the exact one): the rows that could be among the {@code k} largest computed exactly. False where it gave up (a
     * coarse logit or bound not finite, more candidates than the limit).
     */
    private boolean screenCoarse(Parallel pool, float[] x, double nx, int k, float[] logits, LogitAdjustment adjust) {
        int changed = adjust != null ? adjust.count() : 0;
        if (changed > 0 && !boundChanged(adjust, changed, logits, nx)) {
            return false;
        }
        int parts = passParts(pool, k);
        double t = kthLowerBound(pool, parts, logits, nx, k, changed);
        if (Double.isNaN(t)) {
            return false;
        }
        int limit = Math.max(1, rows / MAX_CANDIDATE_SHARE);
        pool.forRange(parts, 1, (p0, p1, w) -> {
            for (int p = p0; p < p1; p++) {
                int[] c = partCands[p];
                int m = 0;
                for (int r = partStart(p, parts), end = partStart(p + 1, parts); r < end; r++) {
                    if (logits[r] + width(r, logits[r], nx) >= t) { // never true for a changed row's -inf
                        if (m == limit) {
                            m = -1;
                            break;
                        }
                        if (m == c.length) {
                            c = partCands[p] = java.util.Arrays.copyOf(c, 2 * m);
                        }
                        c[m++] = r;
                    }
                }
                partN[p] = m;
            }
        });
        int n = 0;
        for (int p = 0; p < parts && n >= 0; p++) { // the parts' candidates in row order, as one pass would list them
            int m = partN[p];
            if (m < 0 || n + m > limit) {
                n = -1;
            } else {
                if (candidates.length < n + m) {
                    candidates = java.util.Arrays.copyOf(candidates, Math.max(2 * candidates.length, n + m));
                }
                System.arraycopy(partCands[p], 0, candidates, n, m);
                n += m;
            }
        }
        for (int i = 0; i < changed && n >= 0; i++) {
            int r = adjust.row(i);
            logits[r] = changedCoarse[i];
            if (changedHigh[i] >= t) {
                n = candidate(r, n, limit);
            }
        }
        if (n < 0) {
            return false;
        }
        if (xp.length < cols + 16) {
            xp = new float[cols + 16];
        }
        exactRows.multiplyRows(x, candidates, n, logits, xp);
        lastCandidates = n;
        return true;
    }

    /**
     * One token screened in integers where machine code multiplies bytes ({@link Int8RowMatrix#dotsAvailable}): the
     * activations quantized to a byte a value as a batch's are, the coarse logits from the codes' integer products
     * ({@link Int8RowMatrix#dots}, one token), each row's bound widened by the activations' rounding as a batch's ({@link
     * #width}), then the same candidates, the same exact rows. Widened to floats (the one-token kernel) the codes cost
     * about three times the operations, and on one thread that kernel, not memory, set the screen's pace: [128256 x 2048]
     * from DRAM read 21 GB/s against 39-42 in integers (i8_dots.c; avx2/i8_dots.c at 256 bits). False where it gave up (a
     * coarse logit not finite, more candidates than the limit): the caller takes the screen in floats, whose bound is
     * tighter.
     */
    private boolean integerScreen(Parallel pool, float[] x, double nx, int k, float[] logits, LogitAdjustment adjust) {
        if (xq.length < cols) {
            xq = new byte[cols];
        }
        float[] step = new float[1];
        double e = quantize(x, 0, cols, xq, step, 0);
        float s = step[0];
        widening = (e + 1e-6 * (nx + e)) * SLACK;
        if (sums.length < rows) {
            sums = new int[rows];
        }
        coarse.dots(pool, xq, 0, sums);
        int parts = passParts(pool, k);
        pool.forRange(parts, 1, (p0, p1, w) -> {
            for (int r = partStart(p0, parts), end = partStart(p1, parts); r < end; r++) {
                logits[r] = coarse.scale(r) * (s * (float) (sums[r] - rowOffset[r]));
            }
        });
        return screenCoarse(pool, x, nx, k, logits, adjust);
    }

    /**
     * How far row {@code r}'s exact logit may lie from its coarse one {@code a}: {@code c[r] |x|} in floats ({@code
     * widening} below 0); in integers ({@link #integerScreen}) also {@code |q_r| e} for the activations' rounding, both
     * widened for the float arithmetic of {@code a} as {@link #screenArgmax} widens them.
     */
    private double width(int r, float a, double nx) {
        return widening < 0 ? bound[r] * nx : (bound[r] * nx + qNorm[r] * widening) * (1 + 1e-5) + Math.abs(a) * 0x1p-22;
    }

    /**
     * One-token calls that screen in floats after the integers gave up on a token: a state they cannot screen (top 40 of
     * flat logits; activations far apart in size) tends to come again in the next steps, and each try costs more than half
     * a screen in floats. So at most one token in {@code FLOAT_RUN + 1} pays for both.
     */
    static final int FLOAT_RUN = 8;

    private int floatRun;

    /** The activations' rounding term of {@link #width} for the one-token screen in integers; below 0 in floats. */
    private double widening = -1;

    /** Whether the last one-token {@link #topLogits} call was screened in integers (for tests). */
    boolean lastInIntegers() {
        return widening >= 0;
    }

    /**
     * Token {@code t}'s activations {@code x[xo .. xo + cols)} quantized to a byte a value (plus 128) into {@code xq[xo ..]}
     * in the codes' column order, with one scale {@code s = max|x| / 127} into {@code step[t]}; returns the norm of the
     * rounding error {@code |x - s codes|}.
     */
    private static double quantize(float[] x, int xo, int cols, byte[] xq, float[] step, int t) {
        float m = 0f;
        for (int c = 0; c < cols; c++) {
            m = Math.max(m, Math.abs(x[xo + c]));
        }
        float s = m / 127f;
        float inv = m == 0f ? 0f : 127f / m;
        double e2 = 0;
        for (int c = 0; c < cols; c++) {
            int code = Math.max(-127, Math.min(127, Math.round(x[xo + c] * inv)));
            xq[xo + Int8RowMatrix.orderColumns(c)] = (byte) (code + 128);
            double d = x[xo + c] - (double) code * s; // exact in double
            e2 += d * d;
        }
        step[t] = s;
        return Math.sqrt(e2);
    }

    /**
     * {@link #topLogits(Parallel, float[], int, float[])} for {@code n} tokens at once ({@code x} and {@code logits} token
     * after token), each token's {@code k} largest logits, their rows and order exact. Where {@link #screensBatches}, the
     * activations are quantized too, to a byte a value with a scale per token ({@code s = max|x| / 127}), and the coarse
     * logit is {@code scale_r s} times the exact integer product of the codes (VNNI). Its distance from the exact logit is
     * at most {@code c[r]|x| + |q_r| e}: {@code c[r]|x|} as for one token, {@code e} the norm of the activations' rounding
     * error {@code |x - s codes|} times {@code |q_r|}, the coarse row's norm (Cauchy-Schwarz), plus the float rounding of
     * the two products, a few units in the last place of {@code |q_r| (|x| + e)}, covered with room by {@code 1e-6} of it.
     * Then each token as one: rows whose upper bound reaches the {@code k}-th largest lower bound are computed exactly.
     * Elsewhere, or when a token has too many candidates, the exact head (for that token).
     */
    public void topLogits(Parallel pool, float[] x, int n, int k, float[] logits) {
        if (n == 1) {
            topLogits(pool, x, k, logits, null);
            return;
        }
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        if (!screensBatches() || k > rows / MAX_CANDIDATE_SHARE) {
            exact.multiply(pool, x, n, logits);
            lastCandidates = -1;
            return;
        }
        final int groups = (n + 3) / 4;
        if (xq.length < 4 * groups * cols) {
            xq = new byte[4 * groups * cols];
        }
        java.util.Arrays.fill(xq, n * cols, 4 * groups * cols, (byte) 128); // padding tokens: code 0
        double[] nx = new double[n], err = new double[n];
        float[] step = new float[n];
        for (int t = 0; t < n; t++) {
            int xo = t * cols;
            double norm = 0;
            for (int c = 0; c < cols; c++) {
                norm += (double) x[xo + c] * x[xo + c];
            }
            nx[t] = Math.sqrt(norm) * (1 + 1e-9);
            if (!Double.isFinite(nx[t])) {
                exact.multiply(pool, x, n, logits);
                lastCandidates = -1;
                return;
            }
            double e = quantize(x, xo, cols, xq, step, t);
            err[t] = (e + 1e-6 * (nx[t] + e)) * SLACK;
        }
        if (sums.length < rows * 4 * groups) {
            sums = new int[rows * 4 * groups];
        }
        coarse.dots(pool, xq, groups, sums);
        int[] exactTokens = new int[n];
        int[] candidateCounts = new int[n];
        if (k == 1) {
            screenArgmax(pool, n, 4 * groups, step, nx, err, logits, exactTokens, candidateCounts);
        } else pool.forRange(n, 1, (t0, t1, w) -> {
            int[] cand = new int[64];
            double[] low = new double[k];
            for (int t = t0; t < t1; t++) {
                int got = screenToken(t, 4 * groups, step[t], nx[t], err[t], k, logits, cand, low);
                if (got < 0) {
                    exactTokens[t] = 1;
                } else {
                    candidateCounts[t] = got;
                }
            }
        });
        float[] one = new float[rows];
        float[] xt = new float[cols];
        int total = 0, fallen = 0;
        for (int t = 0; t < n; t++) {
            if (exactTokens[t] != 0) {
                fallen++;
                continue;
            }
            System.arraycopy(x, t * cols, xt, 0, cols);
            int count = candidateCounts[t];
            int[] ids = batchCandidates[t];
            if (xp.length < cols + 16) {
                xp = new float[cols + 16];
            }
            exactRows.multiplyRows(xt, ids, count, one, xp);
            for (int i = 0; i < count; i++) {
                logits[t * rows + ids[i]] = one[ids[i]];
            }
            total += count;
        }
        if (fallen > 0) { // the tokens with too many candidates through the exact head together: one pass over its rows
            float[] xs = new float[fallen * cols], ys = new float[fallen * rows];
            for (int t = 0, i = 0; t < n; t++) {
                if (exactTokens[t] != 0) {
                    System.arraycopy(x, t * cols, xs, i++ * cols, cols);
                }
            }
            exact.multiply(pool, xs, fallen, ys);
            for (int t = 0, i = 0; t < n; t++) {
                if (exactTokens[t] != 0) {
                    System.arraycopy(ys, i++ * rows, logits, t * rows, rows);
                }
            }
            total = -1;
        }
        lastCandidates = total;
    }

    private byte[] xq = new byte[0];
    private int[] sums = new int[0];
    private int[][] batchCandidates = new int[0][];

    /**
     * Token {@code t} of a batch: its coarse logits from the integer sums into {@code logits[t rows ..]}, and the rows that
     * could be among its {@code k} largest into {@code batchCandidates[t]}; returns how many, or -1 for too many (or a
     * coarse logit that is not finite).
     */
    private int screenToken(int t, int ntok, float s, double nx, double err, int k, float[] logits, int[] cand, double[] low) {
        final int yo = t * rows;
        int held = 0;
        for (int r = 0; r < rows; r++) {
            int dot = sums[r * ntok + t] - rowOffset[r];
            float a = coarse.scale(r) * (s * (float) dot);
            if (!Float.isFinite(a)) {
                return -1;
            }
            logits[yo + r] = a;
            double lo = a - (bound[r] * nx + qNorm[r] * err);
            if (held < k || lo > low[0]) {
                held = insertLow(low, lo, held, k);
            }
        }
        double threshold = low[0];
        if (Double.isNaN(threshold)) {
            return -1;
        }
        int limit = Math.max(1, rows / MAX_CANDIDATE_SHARE);
        int n = 0;
        for (int r = 0; r < rows; r++) {
            float a = logits[yo + r];
            if (a + (bound[r] * nx + qNorm[r] * err) >= threshold) {
                if (n == limit) {
                    return -1;
                }
                if (n == cand.length) {
                    cand = java.util.Arrays.copyOf(cand, 2 * n);
                }
                cand[n++] = r;
            }
        }
        synchronized (this) {
            if (batchCandidates.length <= t) {
                batchCandidates = java.util.Arrays.copyOf(batchCandidates, Math.max(t + 1, 2 * batchCandidates.length));
            }
            batchCandidates[t] = java.util.Arrays.copyOf(cand, n);
        }
        return n;
    }

    /**
     * {@link #screenToken} for {@code k = 1}, with the vector's lanes over tokens (a row's sums for the batch's tokens lie
     * side by side): a pass for each token's largest lower bound, then one for the rows whose upper bound reaches it, each
     * over the pool's threads in ranges of rows. In floats, so each bound is widened to cover the rounding of the float
     * arithmetic: {@code b' = b (1 + 1e-5) + |a| 2^-22} (the products' rounding is below {@code 1e-6} of {@code b}, each
     * sum's below {@code 2^-24} of {@code |a| + b'}), so a lower bound computed is at most the true one and an upper bound
     * at least the true one.
     */
    private void screenArgmax(Parallel pool, int n, int ntok, float[] step, double[] nx, double[] err, float[] logits, int[] exactTokens,
            int[] counts) {
        final int lanes = Kernels.F.length();
        final int limit = Math.max(1, rows / MAX_CANDIDATE_SHARE);
        final int threads = pool.threads();
        final int grain = SCREEN_GRAIN;
        float[] nxf = new float[n], errf = new float[n];
        for (int t = 0; t < n; t++) {
            nxf[t] = Math.nextUp((float) nx[t]);
            errf[t] = Math.nextUp((float) err[t]);
        }
        int[][][] cands = new int[threads][n][]; // per worker, per token: candidate rows of its range
        int[][] found = new int[threads][n];
        for (int t0 = 0; t0 < n; t0 += lanes) {
            final int first = t0, m = Math.min(lanes, n - t0);
            float[][] best = new float[threads][lanes];
            boolean[][] bad = new boolean[threads][lanes];
            for (float[] b : best) {
                java.util.Arrays.fill(b, Float.NEGATIVE_INFINITY);
            }
            pool.forRange(rows, grain, (r0, r1, w) -> lowerBounds(r0, r1, ntok, first, m, step, nxf, errf, best[w], bad[w]));
            float[] top = new float[lanes];
            java.util.Arrays.fill(top, Float.NEGATIVE_INFINITY);
            for (int w = 0; w < threads; w++) {
                for (int i = 0; i < m; i++) {
                    top[i] = Math.max(top[i], best[w][i]); // NaN stays NaN
                    if (bad[w][i] || Float.isNaN(top[i])) {
                        exactTokens[first + i] = 1;
                    }
                }
            }
            pool.forRange(rows, grain, (r0, r1, w) -> upperBounds(r0, r1, ntok, first, m, step, nxf, errf, top, logits, cands[w], found[w], limit));
        }
        if (batchCandidates.length < n) {
            batchCandidates = new int[n][];
        }
        for (int t = 0; t < n; t++) {
            int total = 0;
            for (int w = 0; w < threads; w++) {
                total += found[w][t] < 0 ? limit + 1 : found[w][t];
            }
            if (exactTokens[t] != 0 || total > limit) {
                exactTokens[t] = 1;
                continue;
            }
            int[] all = new int[total];
            for (int w = 0, at = 0; w < threads; w++) {
                if (found[w][t] > 0) {
                    System.arraycopy(cands[w][t], 0, all, at, found[w][t]);
                    at += found[w][t];
                }
            }
            batchCandidates[t] = all;
            counts[t] = total;
        }
    }

    /**
     * Rows per claim of {@link #screenArgmax}'s two passes. Not one range per thread: each pass is then called a few times a
     * step, too few for C2 to compile it as a method, and every call began in C1's code (where the Vector API allocates
     * each vector) until the loop hopped into the OSR compilation: in a server that had run one user for a while, the
     * first twenty 16-user steps took 90-100 ms instead of 81 (steps traced, JIT log; docs/PERFORMANCE.md, fifty-second
     * session). Claims of this many rows make the calls many, so C2 compiles them within a few steps, and the threads
     * finish within a claim of each other.
     */
    static final int SCREEN_GRAIN = 4096;

    /**
     * Whether {@link #upperBounds} writes a row's coarse logits for the batch's tokens with one scatter: where the vectors
     * have 16 lanes (AVX-512 has a scatter instruction). AVX2 has none, and the Vector API's scatter there runs lane by
     * lane through a Java fallback: with it, 16 tokens on [151936 x 896] (`QuickScreenRates 151936x896 16 1`, JVM limited
     * to AVX2, AVX-VNNI's kernel) took 29-39 ms a call, without AVX-VNNI 42-45; stored to a buffer and copied lane by lane,
     * 25.4-26.0 and 38-39.5 (seventy-first session).
     */
    private static final boolean SCATTER = Kernels.L == 16;

    /** Row {@code r}'s coarse logits for the tokens of lanes {@code live}, from token {@code t0} on, as {@link #screenArgmax} takes them. */
    private FloatVector coarseLogits(int r, int ntok, int t0, jdk.incubator.vector.VectorMask<Integer> live, FloatVector s) {
        return IntVector.fromArray(Kernels.I, sums, r * ntok + t0, live).sub(rowOffset[r])
                .convert(jdk.incubator.vector.VectorOperators.I2F, 0).reinterpretAsFloats().mul(s).mul(coarse.scale(r));
    }

    /** Largest lower bound over rows {@code r0 .. r1} per token lane into {@code best}; lanes whose coarse logit is not finite into {@code bad}. */
    private void lowerBounds(int r0, int r1, int ntok, int t0, int m, float[] step, float[] nxf, float[] errf, float[] best, boolean[] bad) {
        final jdk.incubator.vector.VectorMask<Float> live = Kernels.F.indexInRange(0, m);
        final jdk.incubator.vector.VectorMask<Integer> liveI = Kernels.I.indexInRange(0, m);
        FloatVector s = FloatVector.fromArray(Kernels.F, step, t0, live);
        FloatVector nx = FloatVector.fromArray(Kernels.F, nxf, t0, live), err = FloatVector.fromArray(Kernels.F, errf, t0, live);
        FloatVector top = FloatVector.fromArray(Kernels.F, best, 0);
        jdk.incubator.vector.VectorMask<Float> notFinite = Kernels.F.maskAll(false);
        for (int r = r0; r < r1; r++) {
            FloatVector a = coarseLogits(r, ntok, t0, liveI, s);
            // the widened bound (screenArgmax's b'), written out here and in upperBounds: as a method of its own, a
            // server's C2 once left the call in, returning a boxed vector (1.6% of a 16-user step's samples)
            top = top.max(a.sub(nx.mul(bound[r]).add(err.mul(qNorm[r])).mul(1 + 1e-5f).add(a.abs().mul(0x1p-22f))));
            notFinite = notFinite.or(a.test(jdk.incubator.vector.VectorOperators.IS_FINITE).not());
        }
        top.intoArray(best, 0);
        for (int i = 0; i < m; i++) {
            bad[i] |= notFinite.laneIsSet(i);
        }
    }

    /**
     * Rows {@code r0 .. r1}: coarse logits into {@code logits}, and, per token lane, the rows whose upper bound reaches
     * {@code top} into {@code cands[t]} ({@code found[t]} of them; -1 past {@code limit}).
     */
    private void upperBounds(int r0, int r1, int ntok, int t0, int m, float[] step, float[] nxf, float[] errf, float[] top, float[] logits,
            int[][] cands, int[] found, int limit) {
        final jdk.incubator.vector.VectorMask<Float> live = Kernels.F.indexInRange(0, m);
        final jdk.incubator.vector.VectorMask<Integer> liveI = Kernels.I.indexInRange(0, m);
        FloatVector s = FloatVector.fromArray(Kernels.F, step, t0, live);
        FloatVector nx = FloatVector.fromArray(Kernels.F, nxf, t0, live), err = FloatVector.fromArray(Kernels.F, errf, t0, live);
        FloatVector threshold = FloatVector.fromArray(Kernels.F, top, 0);
        int[] scatter = new int[Kernels.F.length()];
        for (int i = 0; i < scatter.length; i++) {
            scatter[i] = i < m ? i * rows : 0; // every index is checked, a masked lane's too
        }
        float[] lanes = new float[Kernels.F.length()];
        for (int r = r0; r < r1; r++) {
            FloatVector a = coarseLogits(r, ntok, t0, liveI, s);
            if (SCATTER) {
                a.intoArray(logits, t0 * rows + r, scatter, 0, live);
            } else {
                a.intoArray(lanes, 0);
                for (int i = 0; i < m; i++) {
                    logits[(t0 + i) * rows + r] = lanes[i];
                }
            }
            jdk.incubator.vector.VectorMask<Float> hit = a.add(nx.mul(bound[r]).add(err.mul(qNorm[r])).mul(1 + 1e-5f).add(a.abs().mul(0x1p-22f)))
                    .compare(jdk.incubator.vector.VectorOperators.GE, threshold)
                    .and(live);
            if (hit.anyTrue()) {
                addCandidate(r, hit.toLong(), t0, m, cands, found, limit);
            }
        }
    }

    /**
     * Row {@code r} as a candidate of the tokens whose lanes are set in {@code hits}. A method of its own: its branches
     * (a token's first candidate, a full list, too many) turn up at any time, and each first one in the vector loop above
     * sent that loop back to C1's code until C2 compiled it again.
     */
    private static void addCandidate(int r, long hits, int t0, int m, int[][] cands, int[] found, int limit) {
        for (int i = 0; i < m; i++) {
            int t = t0 + i;
            if ((hits >>> i & 1) == 0 || found[t] < 0) {
                continue;
            }
            if (found[t] == limit) {
                found[t] = -1;
                continue;
            }
            if (cands[t] == null) {
                cands[t] = new int[16];
            } else if (found[t] == cands[t].length) {
                cands[t] = java.util.Arrays.copyOf(cands[t], 2 * found[t]);
            }
            cands[t][found[t]++] = r;
        }
    }

    /** Inserts {@code lo} into {@code lows} in order, dropping the least when {@code k} are held; returns how many are held. */
    private static int insertLow(double[] lows, double lo, int held, int k) {
        if (held == k) {
            int i = 0;
            while (i + 1 < k && lows[i + 1] < lo) {
                lows[i] = lows[i + 1];
                i++;
            }
            lows[i] = lo;
            return held;
        }
        int i = held;
        while (i > 0 && lows[i - 1] > lo) {
            lows[i] = lows[i - 1];
            i--;
        }
        lows[i] = lo;
        return held + 1;
    }

    /** Adds row {@code r} as the {@code n}-th candidate; -1 once there would be more than {@code limit}. */
    private int candidate(int r, int n, int limit) {
        if (n == limit) {
            return -1;
        }
        if (n == candidates.length) {
            candidates = java.util.Arrays.copyOf(candidates, 2 * n);
        }
        candidates[n] = r;
        return n + 1;
    }

    /**
     * For each row {@code adjust} changes: keeps its coarse logit, the change of its upper bound ({@code changedHigh}) and
     * puts the change of its lower bound into {@code lows} as the {@link #kthLowerBound} pass would; the row's own logit
     * becomes -inf meanwhile, which that pass passes over and the candidate test never takes. The bounds are rounded
     * outwards to floats before the change. False (take the exact head) if a coarse logit or a bound is not finite.
     */
    private boolean boundChanged(LogitAdjustment adjust, int changed, float[] logits, double nx) {
        if (changedCoarse.length < changed) {
            changedCoarse = new float[changed];
            changedHigh = new float[changed];
            changedLow = new double[changed];
        }
        for (int i = 0; i < changed; i++) {
            int r = adjust.row(i);
            float a = logits[r];
            double e = width(r, a, nx);
            float lo = (float) (a - e);
            if (lo > a - e) {
                lo = Math.nextDown(lo);
            }
            float hi = (float) (a + e);
            if (hi < a + e) {
                hi = Math.nextUp(hi);
            }
            if (!Float.isFinite(a) || !Float.isFinite(lo) || !Float.isFinite(hi)) {
                return false;
            }
            changedCoarse[i] = a;
            changedLow[i] = adjust.apply(r, lo);
            changedHigh[i] = adjust.apply(r, hi);
            logits[r] = Float.NEGATIVE_INFINITY;
        }
        return true;
    }

    /**
     * The {@code k}-th largest {@code a[r] - c[r] nx}, kept in a small ascending array (most rows fall below its least and
     * are passed over), with the {@code changed} rows' changed lower bounds in place of theirs (their {@code a[r]} is
     * -inf meanwhile); NaN if a coarse logit is not finite.
     */
    private double kthLowerBound(Parallel pool, int parts, float[] a, double nx, int k, int changed) {
        if (lows.length < k) {
            lows = new double[k];
        }
        pool.forRange(parts, 1, (p0, p1, w) -> {
            for (int p = p0; p < p1; p++) {
                double[] l = partLows[p];
                int held = 0;
                int inf = 0;
                for (int r = partStart(p, parts), end = partStart(p + 1, parts); r < end; r++) {
                    float v = a[r];
                    if (!Float.isFinite(v)) {
                        if (v != Float.NEGATIVE_INFINITY) {
                            inf = -1;
                            break;
                        }
                        inf++; // a changed row's (its lower bound comes below), unless there are more than rows changed
                        continue;
                    }
                    double lo = v - width(r, v, nx);
                    if (held < k || lo > l[0]) {
                        held = insertLow(l, lo, held, k);
                    }
                }
                partHeld[p] = held;
                partInf[p] = inf;
            }
        });
        int held = 0;
        int passed = 0;
        for (int p = 0; p < parts; p++) { // the k largest of all parts' (the same whatever order they come in)
            if (partInf[p] < 0 || (passed += partInf[p]) > changed) {
                return Double.NaN;
            }
            for (int i = 0; i < partHeld[p]; i++) {
                double lo = partLows[p][i];
                if (held < k || lo > lows[0]) {
                    held = insert(lo, held, k);
                }
            }
        }
        for (int i = 0; i < changed; i++) {
            if (held < k || changedLow[i] > lows[0]) {
                held = insert(changedLow[i], held, k);
            }
        }
        return lows[0];
    }

    /**
     * Parts the one-token passes over the rows split into (coarse logits from the integer sums, the k-th lower bound, the
     * candidates): one a thread, so those passes, which ran on the engine thread alone (about 1 ms a token on Qwen's
     * 151936 rows, 6% of a two-thread FP8 decode), run on all of them; every row's arithmetic is the same, the k largest
     * lower bounds do not depend on the order they come in, and the candidates are listed part after part, so the
     * screen's rows and logits are those of one pass. Qwen2.5-0.5B decode on two threads, paired in one process against
     * one part (`bench -p 0 -n 64 -r 8 -t 2`, B / A median of eight): FP8 0.963, BF16 0.985. Sizes the parts' buffers
     * for {@code k}.
     */
    private int passParts(Parallel pool, int k) {
        int parts = pool.threads();
        if (partHeld.length < parts || partLows[0].length < k) {
            partLows = new double[parts][k];
            partHeld = new int[parts];
            partInf = new int[parts];
            partN = new int[parts];
            partCands = new int[parts][];
            for (int p = 0; p < parts; p++) {
                partCands[p] = new int[64];
            }
        }
        return parts;
    }

    /** The first row of part {@code p} of {@code parts} (the rows past the last part's for {@code p == parts}). */
    private int partStart(int p, int parts) {
        return (int) ((long) rows * p / parts);
    }

    /** Inserts {@code lo} in order, dropping the least when {@code k} are held; returns how many are held. */
    private int insert(double lo, int held, int k) {
        return insertLow(lows, lo, held, k);
    }

    private void exactHead(Parallel pool, float[] x, float[] logits) {
        widening = -1;
        exact.multiply(pool, x, 1, logits);
        lastCandidates = -1;
    }
}
