package org.redhare.core.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.Parallel;

/**
 * Paged attention against a plain double-precision reference, with scattered blocks, GQA, every cache dtype, sliding
 * windows (shorter and longer than a block, the window starting inside a block) and soft-capped scores.
 */
class AttentionTest {
    @ParameterizedTest(name = "{0}: heads {1}/{2}, dim {3}/{4}, ctx {5}, window {6}, softcap {7}")
    @CsvSource({"F32, 4, 2, 16, 16, 37, 0, 0", "F32, 6, 2, 20, 12, 9, 0, 0", "F32, 3, 3, 64, 64, 70, 0, 0", "F32, 14, 2, 64, 64, 45, 0, 0", "F32, 8, 2, 128, 128, 23, 0, 0", "F32, 10, 2, 72, 80, 19, 0, 0", "F32, 4, 4, 64, 64, 41, 0, 0", "F32, 12, 2, 64, 64, 33, 0, 0", "F32, 9, 1, 64, 64, 18, 0, 0", "BF16, 4, 2, 16, 16, 37, 0, 0", "F16, 6, 3, 24, 24, 21, 0, 0", "F32, 4, 2, 16, 16, 37, 5, 0", "F32, 14, 2, 64, 64, 45, 16, 0", "F32, 8, 2, 128, 128, 23, 8, 0", "F32, 6, 2, 20, 12, 29, 11, 2.5", "F32, 4, 4, 64, 64, 41, 0, 1.5", "BF16, 4, 2, 16, 16, 37, 9, 0", "F16, 6, 3, 24, 24, 21, 3, 3",
            "Q8, 4, 2, 16, 16, 37, 0, 0", "Q8, 14, 2, 64, 64, 45, 0, 0", "Q8, 10, 2, 72, 80, 19, 0, 0", "Q8, 9, 1, 64, 64, 18, 0, 0",
            "Q8, 14, 2, 64, 64, 45, 16, 0", "Q8, 6, 2, 20, 12, 29, 11, 2.5"})
    void matchesReference(KvDtype dtype, int heads, int kvHeads, int headDim, int vDim, int ctx, int window, float softcap) {
        // Blocks of 8 keys (half a 512-bit vector: masked loads there), 16 and 24 (a vector and a half on AVX-512, three on AVX2).
        for (int bs : new int[] {8, 16, 24}) {
            matchesReference(dtype, heads, kvHeads, headDim, vDim, ctx, window, softcap, bs);
        }
    }

    private void matchesReference(KvDtype dtype, int heads, int kvHeads, int headDim, int vDim, int ctx, int window, float softcap, int bs) {
        Random rnd = new Random(ctx * 31L + heads);
        int blocks = (ctx + bs - 1) / bs;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = blocks * 2 - 1 - 2 * i; // scattered, reversed
        float[][] k = new float[ctx][kvHeads * headDim];
        float[][] v = new float[ctx][kvHeads * vDim];
        try (PagedKvCache cache = new PagedKvCache(1, blocks * 2, bs, kvHeads * headDim, kvHeads * vDim, dtype, kvHeads);
             Parallel pool = new Parallel(2)) {
            for (int j = 0; j < ctx; j++) {
                representable(dtype, k[j], kvHeads, rnd);
                representable(dtype, v[j], kvHeads, rnd);
                cache.write(0, cache.slotOf(table, j), k[j], 0, v[j], 0);
            }
            // Two query tokens: the last position and one in the middle.
            int[] positions = {ctx - 1, ctx / 2};
            float[] q = new float[2 * heads * headDim];
            for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
            float[] out = new float[2 * heads * vDim];
            float scale = (float) (1 / Math.sqrt(headDim));
            new Attention(heads, kvHeads, headDim, vDim, scale, window, softcap).forward(pool, cache, 0, q, 2, new int[][] {table, table}, positions, out);
            int group = heads / kvHeads;
            for (int t = 0; t < 2; t++) {
                for (int h = 0; h < heads; h++) {
                    int g = h / group;
                    double[] s = new double[positions[t] + 1];
                    int first = window > 0 ? Math.max(0, positions[t] + 1 - window) : 0; // keys before it get no weight
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = first; j < s.length; j++) {
                        for (int d = 0; d < headDim; d++) s[j] += (double) q[t * heads * headDim + h * headDim + d] * k[j][g * headDim + d];
                        s[j] *= scale;
                        if (softcap > 0) s[j] = softcap * Math.tanh(s[j] / softcap);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = first; j < s.length; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int d = 0; d < vDim; d++) {
                        double ref = 0;
                        for (int j = 0; j < s.length; j++) ref += s[j] / sum * v[j][g * vDim + d];
                        assertThat((double) out[t * heads * vDim + h * vDim + d]).as("block size %d", bs).isCloseTo(ref, within(1e-4));
                    }
                }
            }
        }
    }

    /**
     * A 16-bit cache is widened in registers as the kernels load it: over long contexts (several runs of values), with
     * and without a window, its output has exactly the bits of a float cache holding the same values.
     */
    @ParameterizedTest(name = "{0}: heads {1}/{2}, dim {3}/{4}, ctx {5}, window {6}")
    @CsvSource({"BF16, 14, 2, 128, 128, 1300, 0", "F16, 6, 2, 72, 80, 1700, 0", "BF16, 9, 3, 64, 64, 2200, 1500", "F16, 4, 4, 128, 128, 1100, 700"})
    void sixteenBitCacheHasTheBitsOfAFloatCache(KvDtype dtype, int heads, int kvHeads, int headDim, int vDim, int ctx, int window) {
        Random rnd = new Random(ctx);
        int bs = 16;
        int blocks = (ctx + bs - 1) / bs;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = blocks - 1 - i;
        float[] q = new float[3 * heads * headDim];
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        int[] positions = {ctx - 1, ctx / 2, 7};
        float[][] outs = new float[2][3 * heads * vDim];
        try (PagedKvCache narrow = new PagedKvCache(1, blocks, bs, kvHeads * headDim, kvHeads * vDim, dtype);
             PagedKvCache wide = new PagedKvCache(1, blocks, bs, kvHeads * headDim, kvHeads * vDim, KvDtype.F32);
             Parallel pool = new Parallel(2)) {
            for (int j = 0; j < ctx; j++) {
                float[] k = new float[kvHeads * headDim];
                float[] v = new float[kvHeads * vDim];
                for (int i = 0; i < k.length; i++) k[i] = round(dtype, (float) rnd.nextGaussian());
                for (int i = 0; i < v.length; i++) v[i] = round(dtype, (float) rnd.nextGaussian());
                narrow.write(0, narrow.slotOf(table, j), k, 0, v, 0);
                wide.write(0, wide.slotOf(table, j), k, 0, v, 0);
            }
            Attention attention = new Attention(heads, kvHeads, headDim, vDim, (float) (1 / Math.sqrt(headDim)), window, 0f);
            int[][] tables = {table, table, table};
            attention.forward(pool, narrow, 0, q, 3, tables, positions, outs[0]);
            attention.forward(pool, wide, 0, q, 3, tables, positions, outs[1]);
        }
        assertThat(outs[0]).containsExactly(outs[1]);
        assertThat(outs[0][0]).isNotZero();
    }

    /**
     * The machine-code kernels ({@link AttentionKernels}) give the Java kernels' bits: every dtype, groups of 1 to 16
     * heads (tiles of up to eight and what is left), head dims the value tile takes whole (64, 96, 128) and not (80: Java
     * values), blocks of 16 and 32 keys (and 24: Java scores), contexts across several value runs, windows, a batch of
     * tokens at different positions.
     */
    @ParameterizedTest(name = "{0}: heads {1}/{2}, dim {3}/{4}, ctx {5}, block {6}, window {7}")
    @CsvSource({"F32, 7, 1, 64, 64, 1500, 16, 0", "BF16, 14, 2, 64, 64, 1500, 16, 0", "F16, 8, 1, 64, 64, 900, 16, 0",
            "BF16, 32, 8, 64, 64, 333, 16, 0", "BF16, 16, 1, 128, 128, 700, 32, 0", "F32, 9, 1, 96, 96, 260, 16, 0",
            "BF16, 5, 5, 64, 80, 150, 16, 0", "F16, 6, 2, 128, 128, 517, 24, 0", "BF16, 3, 1, 64, 64, 1025, 16, 300",
            "F32, 10, 2, 64, 64, 47, 32, 0", "BF16, 12, 2, 32, 32, 2100, 16, 0", "F16, 2, 1, 64, 64, 17, 16, 0",
            "Q8, 14, 2, 64, 64, 1500, 16, 0", "Q8, 32, 8, 64, 64, 333, 16, 0", "Q8, 16, 1, 128, 128, 700, 32, 0",
            "Q8, 5, 5, 64, 80, 150, 16, 0", "Q8, 6, 2, 128, 128, 517, 24, 0", "Q8, 3, 1, 64, 64, 1025, 16, 300"})
    void nativeKernelsGiveTheJavaBits(KvDtype dtype, int heads, int kvHeads, int headDim, int vDim, int ctx, int bs, int window) {
        org.junit.jupiter.api.Assumptions.assumeTrue(AttentionKernels.scoresRun(16) && AttentionKernels.valuesRun(32),
                "the native attention kernels do not run here (they need x86-64 AVX-512 and machine code)");
        Random rnd = new Random(ctx * 7L + heads);
        int blocks = (ctx + bs - 1) / bs;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = (i * 5 + 3) % (blocks + 1); // scattered, one block unused
        int tokens = 4;
        int[] positions = {ctx - 1, ctx / 2, 0, ctx - 2};
        float[] q = new float[tokens * heads * headDim];
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        float[][] outs = new float[2][tokens * heads * vDim];
        try (PagedKvCache cache = new PagedKvCache(1, blocks + 1, bs, kvHeads * headDim, kvHeads * vDim, dtype, kvHeads);
             Parallel pool = new Parallel(2)) {
            float[] k = new float[kvHeads * headDim];
            float[] v = new float[kvHeads * vDim];
            for (int j = 0; j < ctx; j++) {
                for (int i = 0; i < k.length; i++) k[i] = (float) rnd.nextGaussian();
                for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
                cache.write(0, cache.slotOf(table, j), k, 0, v, 0);
            }
            int[][] tables = {table, table, table, table};
            for (int run = 0; run < 2; run++) {
                Attention attention = new Attention(heads, kvHeads, headDim, vDim, (float) (1 / Math.sqrt(headDim)), window, 0f);
                attention.nativeKernels = run == 0;
                attention.forward(pool, cache, 0, q, tokens, tables, positions, outs[run]);
            }
        }
        assertThat(outs[0]).containsExactly(outs[1]);
        assertThat(outs[0][0]).isNotZero();
    }

    static float round(KvDtype d, float x) {
        return switch (d) {
            case F32, Q8 -> x;
            case BF16 -> org.redhare.core.Numbers.bf16ToFloat(org.redhare.core.Numbers.floatToBf16(x));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
        };
    }

    /**
     * Random entries the cache holds exactly: for Q8, each head's entries integers times a power of two (a different one
     * per head and token, 2^-4 .. 2^-7) with one of them at 127 times it, so the head's scale is that power and every
     * entry its code times it; for the others, Gaussian values rounded to the dtype.
     */
    static void representable(KvDtype d, float[] row, int heads, Random rnd) {
        if (d != KvDtype.Q8) {
            for (int i = 0; i < row.length; i++) row[i] = round(d, (float) rnd.nextGaussian());
            return;
        }
        int w = row.length / heads;
        for (int h = 0; h < heads; h++) {
            float unit = Math.scalb(1f, -4 - rnd.nextInt(4));
            for (int i = 0; i < w; i++) row[h * w + i] = (rnd.nextInt(255) - 127) * unit;
            row[h * w + rnd.nextInt(w)] = (rnd.nextBoolean() ? 127 : -127) * unit;
        }
    }
}
