package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SamplerTest {
    static final float[] LOGITS = {0f, (float) Math.log(2), (float) Math.log(4), (float) Math.log(8), -30f}; // p ∝ 1,2,4,8,~0

    static int[] histogram(SamplingParams p, int draws) {
        Sampler s = new Sampler(p, LOGITS.length, new int[0]);
        int[] h = new int[LOGITS.length];
        for (int i = 0; i < draws; i++) {
            h[s.sample(LOGITS.clone(), 0, LOGITS.length)]++;
        }
        return h;
    }

    static SamplingParams params(float t, int k, float p, float minP) {
        return new SamplingParams(t, k, p, minP, 1f, 0f, 0f, 7L);
    }

    @Test
    void greedyPicksTheArgmax() {
        assertThat(histogram(SamplingParams.GREEDY, 10)).containsExactly(0, 0, 0, 10, 0);
    }

    @Test
    void argmaxIsTheFirstLargestOnLongRowsTiesSignedZerosAndNaN() {
        java.util.Random rnd = new java.util.Random(3);
        for (int len : new int[] {1, 5, 16, 17, 31, 1000, 151_936}) {
            int off = rnd.nextInt(4);
            float[] x = new float[off + len + 2];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            x[x.length - 1] = 99f; // past the row: must not be chosen
            int largest = 0; // the first index of the largest value, found another way: sort the ids by value, then id
            for (int i = 1; i < len; i++) {
                if (Float.compare(x[off + i], x[off + largest]) > 0) {
                    largest = i;
                }
            }
            assertThat(Sampler.argmax(x, off, len)).as("random, len %d", len).isEqualTo(largest);
            if (len > 2) {
                int a = rnd.nextInt(len - 1), b = a + 1 + rnd.nextInt(len - 1 - a);
                x[off + a] = 50f;
                x[off + b] = 50f; // a tie: the lower id wins
                assertThat(Sampler.argmax(x, off, len)).as("tie, len %d", len).isEqualTo(a);
                x[off + a] = Float.NaN; // NaN never wins a comparison
                assertThat(Sampler.argmax(x, off, len)).as("NaN, len %d", len).isEqualTo(a == 0 ? 0 : b); // a NaN first is kept, as the scalar loop does
            }
        }
        float[] zeros = {-1f, -0f, 0f, -2f};
        assertThat(Sampler.argmax(zeros, 0, 4)).isEqualTo(1); // -0 == 0: the first of the two
        float[] infinite = new float[40];
        java.util.Arrays.fill(infinite, Float.NEGATIVE_INFINITY);
        assertThat(Sampler.argmax(infinite, 0, 40)).isZero();
    }

    @Test
    void temperatureOneFollowsTheDistribution() {
        int n = 30_000;
        int[] h = histogram(params(1f, 0, 1f, 0f), n);
        double[] expected = {1 / 15.0, 2 / 15.0, 4 / 15.0, 8 / 15.0};
        for (int i = 0; i < 4; i++) {
            double sd = Math.sqrt(n * expected[i] * (1 - expected[i]));
            assertThat((double) h[i]).as("token %d", i).isCloseTo(n * expected[i], org.assertj.core.data.Offset.offset(5 * sd));
        }
    }

    @Test
    void topKTopPAndMinPCutTheTail() {
        // top-k 2 keeps tokens 3 and 2 only, in ratio 2:1
        int[] k = histogram(params(1f, 2, 1f, 0f), 9000);
        assertThat(k[0] + k[1] + k[4]).isZero();
        assertThat((double) k[3] / k[2]).isBetween(1.7, 2.3);
        // top-p 0.5: token 3 alone has 8/15 > 0.5
        assertThat(histogram(params(1f, 0, 0.5f, 0f), 500)).containsExactly(0, 0, 0, 500, 0);
        // top-p 0.7: tokens 3 and 2 (8/15 + 4/15 = 0.8 >= 0.7)
        int[] p = histogram(params(1f, 0, 0.7f, 0f), 3000);
        assertThat(p[0] + p[1] + p[4]).isZero();
        assertThat(p[2]).isPositive();
        // min-p 0.3: keeps tokens with p >= 0.3 * 8/15, i.e. 4/15 and 8/15
        int[] m = histogram(params(1f, 0, 1f, 0.3f), 3000);
        assertThat(m[0] + m[1] + m[4]).isZero();
        assertThat(m[2]).isPositive();
    }

    @Test
    void topKCombinesWithTopPAndMinPInOrder() {
        // the 3 largest (8, 4, 2) renormalized: 8/14 < 0.7 <= 12/14, so top-p keeps tokens 3 and 2
        int[] kp = histogram(params(1f, 3, 0.7f, 0f), 3000);
        assertThat(kp[0] + kp[1] + kp[4]).isZero();
        assertThat((double) kp[3] / kp[2]).isBetween(1.7, 2.3);
        // min-p 0.3 of the largest drops 2 and 1 from the 4 largest
        int[] km = histogram(params(1f, 4, 1f, 0.3f), 3000);
        assertThat(km[0] + km[1] + km[4]).isZero();
        assertThat(km[2]).isPositive();
        // k at least the vocabulary: every token stays
        assertThat(histogram(params(1f, 5, 1f, 0f), 3000)[0]).isPositive();
    }

    /** What a screened LM head relies on: top-k draws read the k largest logits only, so the rest may be anything lower. */
    @Test
    void topKDrawsDependOnlyOnTheKLargestLogits() {
        java.util.Random rnd = new java.util.Random(11);
        int vocab = 1000, k = 40;
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) rnd.nextGaussian() * 3;
        }
        logits[17] = logits[600] = 9f; // a tie among the largest
        float[] sorted = logits.clone();
        java.util.Arrays.sort(sorted);
        float kth = sorted[vocab - k];
        float[] other = logits.clone();
        for (int i = 0; i < vocab; i++) {
            if (other[i] < kth) {
                other[i] = i % 3 == 0 ? Float.NEGATIVE_INFINITY : kth - 1 - rnd.nextFloat() * 50;
            }
        }
        SamplingParams p = new SamplingParams(0.9f, k, 0.9f, 0.02f, 1f, 0f, 0f, 5L);
        Sampler a = new Sampler(p, vocab, new int[0]);
        Sampler b = new Sampler(p, vocab, new int[0]);
        java.util.Set<Integer> drawn = new java.util.HashSet<>();
        for (int i = 0; i < 300; i++) {
            int t = a.sample(logits.clone(), 0, vocab);
            assertThat(b.sample(other.clone(), 0, vocab)).as("draw %d", i).isEqualTo(t);
            assertThat(logits[t]).isGreaterThanOrEqualTo(kth);
            drawn.add(t);
        }
        assertThat(drawn).as("a spread of tokens, both of the tied pair").hasSizeGreaterThan(3).contains(17, 600);
    }

    @Test
    void lowTemperatureSharpensAndSeedsReproduce() {
        int[] sharp = histogram(params(0.05f, 0, 1f, 0f), 1000);
        assertThat(sharp[3]).isGreaterThan(990);
        assertThat(histogram(params(1f, 0, 1f, 0f), 200)).containsExactly(histogram(params(1f, 0, 1f, 0f), 200));
    }

    @Test
    void repetitionPenaltyDemotesSeenTokens() {
        float[] logits = {2f, 1.9f, -1f};
        Sampler s = new Sampler(new SamplingParams(0f, 0, 1f, 0f, 1.5f, 0f, 0f, null), 3, new int[] {0});
        assertThat(s.sample(logits.clone(), 0, 3)).isEqualTo(1); // 2/1.5 < 1.9
        Sampler f = new Sampler(new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0.5f, null), 3, new int[0]);
        f.accept(0);
        assertThat(f.sample(logits.clone(), 0, 3)).isEqualTo(1); // 2 - 0.5 < 1.9
    }
}
