package org.redhare.core.matrix;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/** Vector shapes chosen once for the whole process. */
final class Kernels {
    private Kernels() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Floats per vector. */
    static final int L = F.length();
    /**
     * 16-bit weights per block: one int vector holds {@code 2L} of them. Widening gives the even
     * elements and the odd elements as two float vectors, so activations are reordered per block to
     * {@code [x0 x2 x4 ... | x1 x3 x5 ...]} (cheap: activations are small) instead of repacking weights.
     */
    static final int PAIR_BLOCK = 2 * L;

    /**
     * Floats for 16 stored accumulators followed by their 16 lane sums ({@code VectorMath.sum16}); not
     * {@code 17 * L}, which is too small when vectors hold 8 floats (AVX2).
     */
    static final int SUM16_FLOATS = 16 * L + 16;

    /** Columns per panel of the one-token kernels: a pass reads at most this many activations (see {@link Bf16Matrix#PANEL}). */
    static final int PANEL_COLUMNS = 2048;

    /** Where {@link #keep} would write: never in practice. */
    private static long kept;

    /**
     * Keeps loads whose values are otherwise unused (touches that fetch memory ahead, {@link FloatTiles#tile5tokens4Fetching})
     * from being removed by the JIT: their sum is compared, and stored only if it hits a value a sum of a few
     * thousand bytes cannot reach, so no shared field is written in practice.
     */
    static void keep(long sum) {
        if (sum == 0x5DEECE66DL) {
            kept = sum;
        }
    }

    /** Grain (rows) for splitting a matrix over threads. */
    static int rowGrain(int rows, int threads) {
        return Math.max(8, (rows + threads * 8 - 1) / (threads * 8));
    }

    /**
     * Reorders each full {@link #PAIR_BLOCK} of every token's activations to even-then-odd order; the
     * tail (cols % PAIR_BLOCK) stays in natural order.
     */
    static void deinterleave(float[] x, int n, int cols, float[] out) {
        deinterleave(x, 0, n, cols, out);
    }

    /** {@link #deinterleave(float[], int, int, float[])} for tokens {@code t0 .. t1-1} only. */
    static void deinterleave(float[] x, int t0, int t1, int cols, float[] out) {
        int full = cols / PAIR_BLOCK * PAIR_BLOCK;
        for (int t = t0; t < t1; t++) {
            int base = t * cols;
            for (int o = base; o < base + full; o += PAIR_BLOCK) {
                FloatVector a = FloatVector.fromArray(F, x, o);
                FloatVector b = FloatVector.fromArray(F, x, o + L);
                EVEN_LANES.selectFrom(a, b).intoArray(out, o);
                ODD_LANES.selectFrom(a, b).intoArray(out, o + L);
            }
            System.arraycopy(x, base + full, out, base + full, cols - full);
        }
    }

    /**
     * {@link #deinterleave} and {@link #packTokens4} (chunks of {@code PAIR_BLOCK}) in one pass, for rows with no tail
     * columns ({@code cols} a multiple of {@code PAIR_BLOCK}): the groups of four tokens starting at {@code g0, g0 + 4, ..}
     * before {@code g1} (multiples of 4) go straight from {@code x} (token after token) into their panels at
     * {@code out[off + g cols ...]}, tokens from {@code n} on as zeros: the same floats where the two passes put them, one
     * copy instead of two and no token-order copy. A 16-user step of the 0.5B shape copied 2.9M floats twice (packing was
     * about 4% of its samples).
     */
    static void packPairs4(float[] x, int n, int g0, int g1, int cols, float[] out, int off) {
        for (int g = g0; g + 4 <= g1; g += 4) {
            int panel = off + g * cols;
            for (int j = 0; j < 4; j++) {
                int t = g + j;
                for (int b = 0, o = panel + j * PAIR_BLOCK; b < cols; b += PAIR_BLOCK, o += 4 * PAIR_BLOCK) {
                    if (t < n) {
                        FloatVector a = FloatVector.fromArray(F, x, t * cols + b);
                        FloatVector c = FloatVector.fromArray(F, x, t * cols + b + L);
                        EVEN_LANES.selectFrom(a, c).intoArray(out, o);
                        ODD_LANES.selectFrom(a, c).intoArray(out, o + L);
                    } else {
                        java.util.Arrays.fill(out, o, o + PAIR_BLOCK, 0f);
                    }
                }
            }
        }
    }

    /** Two-vector lane selections picking lanes 0, 2, 4, ... and 1, 3, 5, ... of a PAIR_BLOCK. */
    private static final FloatVector EVEN_LANES = pairLanes(0);
    private static final FloatVector ODD_LANES = pairLanes(1);

    private static FloatVector pairLanes(int first) {
        float[] idx = new float[L];
        for (int i = 0; i < L; i++) {
            idx[i] = 2 * i + first;
        }
        return FloatVector.fromArray(F, idx, 0);
    }

    /**
     * Copies the first {@code full} columns of each group of four tokens from {@code xp} into one panel per
     * group at {@code out[off + g * full ...]} (g = the group's first token), interleaved per chunk of
     * {@code chunk} floats: {@code [chunk][token 0..3][chunk floats]}, so a 4-token micro-kernel reads one
     * sequential stream. Tokens past the last full group are not packed.
     */
    static void packTokens4(float[] xp, int n, int cols, int full, int chunk, float[] out, int off) {
        packTokens4(xp, n, n / 4 * 4, cols, full, chunk, out, off);
    }

    /**
     * {@link #packTokens4} for the first {@code grouped} tokens ({@code grouped} a multiple of 4, at most {@code n}
     * rounded up to one): tokens {@code n .. grouped-1} are zeros, a padded last group (see
     * {@link FloatTiles#groupedTokens}).
     */
    static void packTokens4(float[] xp, int n, int grouped, int cols, int full, int chunk, float[] out, int off) {
        packTokens4(xp, n, 0, grouped, cols, full, chunk, out, off);
    }

    /**
     * From this many tokens (a prompt's chunk) activations are reordered and packed over the threads: for 512 tokens that
     * was 5% of the engine thread's time in a BF16 pp512 profile (JFR), with the other thread waiting. A decode step of a
     * few users packs on the engine thread: a job would cost more than the copy.
     */
    static final int PARALLEL_PACK_TOKENS = 64;

    /** {@link #packTokens4(float[], int, int, int, int, int, float[], int)} over {@code pool}'s threads for prompts. */
    static void packTokens4(org.redhare.core.Parallel pool, float[] xp, int n, int grouped, int cols, int full, int chunk, float[] out, int off) {
        if (n < PARALLEL_PACK_TOKENS) {
            packTokens4(xp, n, grouped, cols, full, chunk, out, off);
            return;
        }
        int groups = grouped / 4;
        pool.forRange(groups, Math.max(1, groups / (4 * pool.threads())), (a, b, w) -> packTokens4(xp, n, 4 * a, 4 * b, cols, full, chunk, out, off));
    }

    /** {@link #packTokens4} for the groups starting at tokens {@code g0, g0 + 4, ..} before {@code g1} (multiples of 4). */
    static void packTokens4(float[] xp, int n, int g0, int g1, int cols, int full, int chunk, float[] out, int off) {
        for (int g = g0; g + 4 <= g1; g += 4) {
            int panel = off + g * full;
            for (int j = 0; j < 4; j++) {
                int src = (g + j) * cols;
                for (int b = 0, o = panel + j * chunk; b < full; b += chunk, o += 4 * chunk) {
                    if (g + j < n) {
                        System.arraycopy(xp, src + b, out, o, chunk);
                    } else {
                        java.util.Arrays.fill(out, o, o + chunk, 0f);
                    }
                }
            }
        }
    }
}
