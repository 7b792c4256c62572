package org.redhare.engine;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.redhare.core.matrix.LogitAdjustment;
import org.redhare.core.ops.Ops;

/**
 * Picks the next token of one sequence from its logits. Holds the sequence's random stream and the
 * counts the penalties need, so each sequence samples independently of whatever it is batched with.
 */
public final class Sampler implements LogitAdjustment {

    private final SamplingParams params;
    private final SplittableRandom random;
    private final int[] counts;       // occurrences in generated tokens, for presence/frequency penalties
    private final boolean[] seen;     // prompt or generated, for the repetition penalty
    private final float[] bias;       // logit_bias by token id ([0] when there is none)
    private int[] changed = new int[16]; // the rows the penalties change (seen, or counted), in the order first met
    private int changedCount;
    private int[] candidates = new int[0];
    private float[] probs = new float[0];
    private float[] topValues = new float[0];

    public Sampler(SamplingParams params, int vocab, int[] prompt) {
        this.params = params;
        this.random = new SplittableRandom(params.seed() != null ? params.seed() : System.nanoTime() ^ Thread.currentThread().threadId());
        boolean penalties = params.presencePenalty() != 0 || params.frequencyPenalty() != 0;
        this.bias = new float[params.logitBias().isEmpty() ? 0 : vocab];
        for (var e : params.logitBias().entrySet()) {
            if (e.getKey() < vocab) {
                bias[e.getKey()] = e.getValue();
            }
        }
        this.counts = penalties ? new int[vocab] : null;
        this.seen = params.repetitionPenalty() != 1f ? new boolean[vocab] : null;
        if (seen != null) {
            for (int t : prompt) {
                if (t >= 0 && t < vocab && !seen[t]) {
                    seen[t] = true;
                    noteChanged(t);
                }
            }
        }
        for (int t : params.logitBias().keySet()) {
            if (t < vocab && (seen == null || !seen[t])) {
                noteChanged(t);
            }
        }
    }

    private void noteChanged(int token) {
        if (changedCount == changed.length) {
            changed = Arrays.copyOf(changed, 2 * changedCount);
        }
        changed[changedCount++] = token;
    }

    /** Whether {@link #sample} changes the logits it is given (penalties); otherwise they stay as the model produced them. */
    public boolean modifiesLogits() {
        return counts != null || seen != null || bias.length > 0;
    }

    /** Records a token the sequence produced (for the penalties). */
    public void accept(int token) {
        boolean before = changes(token);
        if (counts != null) {
            counts[token]++;
        }
        if (seen != null) {
            seen[token] = true;
        }
        if (!before && modifiesLogits()) {
            noteChanged(token);
        }
    }

    private boolean changes(int token) {
        return (seen != null && seen[token]) || (counts != null && counts[token] > 0) || (bias.length > 0 && params.logitBias().containsKey(token));
    }

    /** The rows {@link #sample} changes before it draws (the penalties'): none without penalties. */
    @Override
    public int count() {
        return changedCount;
    }

    @Override
    public int row(int i) {
        return changed[i];
    }

    /** The penalties and bias of one row, the same operations as {@link #sample} does on it; each does not decrease in the logit. */
    @Override
    public float apply(int row, float logit) {
        float l = logit;
        if (seen != null && seen[row]) {
            float p = params.repetitionPenalty();
            l = l > 0 ? l / p : l * p;
        }
        if (counts != null) {
            int c = counts[row];
            if (c > 0) {
                l -= params.presencePenalty() + c * params.frequencyPenalty();
            }
        }
        if (bias.length > 0) {
            l += bias[row];
        }
        return l;
    }

    /** Samples from {@code logits[off .. off+vocab)}; the array is modified (penalties, scaling). */
    public int sample(float[] logits, int off, int vocab) {
        applyPenalties(logits, off, vocab);
        if (params.greedy()) {
            return argmax(logits, off, vocab);
        }
        if (params.topK() > 0 && params.topK() < vocab) {
            return sampleTopK(logits, off, vocab);
        }
        float invT = 1f / params.temperature();
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[off + i]);
        }
        if (probs.length < vocab) {
            probs = new float[vocab];
            candidates = new int[vocab];
        }
        for (int i = 0; i < vocab; i++) {
            probs[i] = logits[off + i] * invT;
        }
        double sum = Ops.expShifted(probs, 0, vocab, max * invT); // vector exp
        // Candidate set: drop what no filter can keep before sorting (top-p cutoff as in llama2.c).
        float pMax = (float) (1.0 / sum); // probability of the argmax
        float threshold = 0f;
        if (params.minP() > 0) {
            threshold = params.minP() * pMax;
        }
        if (params.topP() < 1f && params.topK() == 0) {
            threshold = Math.max(threshold, (float) ((1 - params.topP()) / Math.max(1, vocab - 1)));
        }
        int n = 0;
        float invSum = (float) (1.0 / sum);
        for (int i = 0; i < vocab; i++) {
            probs[i] *= invSum;
            if (probs[i] >= threshold) {
                candidates[n++] = i;
            }
        }
        if (n == 0) {
            return argmax(logits, off, vocab);
        }
        boolean needSort = params.topK() > 0 || params.topP() < 1f;
        if (needSort) {
            sortByProbability(n);
            if (params.topK() > 0) {
                n = Math.min(n, params.topK());
            }
            if (params.topP() < 1f) {
                double total = 0;
                for (int i = 0; i < n; i++) {
                    total += probs[candidates[i]];
                }
                double acc = 0;
                for (int i = 0; i < n; i++) {
                    acc += probs[candidates[i]] / total;
                    if (acc >= params.topP()) {
                        n = i + 1;
                        break;
                    }
                }
            }
            if (params.minP() > 0) {
                float keep = params.minP() * probs[candidates[0]];
                int m = 0;
                while (m < n && probs[candidates[m]] >= keep) {
                    m++;
                }
                n = Math.max(1, m);
            }
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += probs[candidates[i]];
        }
        double r = random.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += probs[candidates[i]];
            if (r < acc) {
                return candidates[i];
            }
        }
        return candidates[n - 1];
    }

    private void sortByProbability(int n) {
        // Sort candidate ids by descending probability (ties by id, for determinism).
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            int id = candidates[i];
            // probabilities are >= 0, so their float bits order like the values
            keys[i] = ((long) (0x7FFFFFFF - Float.floatToIntBits(probs[id])) << 32) | id;
        }
        Arrays.sort(keys);
        for (int i = 0; i < n; i++) {
            candidates[i] = (int) keys[i];
        }
    }

    /**
     * Top-k sampling from the {@code k} largest logits alone, whatever the others hold (the screened LM head leaves
     * approximations below them: {@code org.redhare.core.matrix.ScreenedHead}), so a seed draws the same tokens with or
     * without it. The filters and their order are those of the full path: the k largest (ties to the lower id), then
     * min-p, then top-p over the kept tokens' renormalized probabilities, then a draw in proportion; only the common
     * factor of the probabilities (the softmax over the whole vocabulary) is left out, as every filter renormalizes.
     */
    private int sampleTopK(float[] logits, int off, int vocab) {
        int k = params.topK();
        if (candidates.length < k) {
            candidates = new int[k];
        }
        if (probs.length < k) {
            probs = new float[k];
        }
        if (topValues.length < k) {
            topValues = new float[k];
        }
        int held = Largest.of(logits, off, vocab, k, candidates, topValues); // descending, ties to the lower id
        if (held == 0) {
            return argmax(logits, off, vocab);
        }
        float invT = 1f / params.temperature();
        int n = held;
        for (int j = 0; j < held; j++) {
            probs[j] = (float) Math.exp((topValues[j] - topValues[0]) * invT); // 1 for the largest
        }
        if (params.minP() > 0) {
            int m = 1;
            while (m < n && probs[m] >= params.minP()) {
                m++;
            }
            n = m;
        }
        if (params.topP() < 1f) {
            double total = 0;
            for (int j = 0; j < n; j++) {
                total += probs[j];
            }
            double acc = 0;
            for (int j = 0; j < n; j++) {
                acc += probs[j] / total;
                if (acc >= params.topP()) {
                    n = j + 1;
                    break;
                }
            }
        }
        double total = 0;
        for (int j = 0; j < n; j++) {
            total += probs[j];
        }
        double r = random.nextDouble() * total;
        double acc = 0;
        for (int j = 0; j < n; j++) {
            acc += probs[j];
            if (r < acc) {
                return candidates[j];
            }
        }
        return candidates[n - 1];
    }

    private void applyPenalties(float[] logits, int off, int vocab) {
        for (int i = 0; i < changedCount; i++) {
            int r = changed[i];
            if (r < vocab) {
                logits[off + r] = apply(r, logits[off + r]);
            }
        }
    }

    /**
     * The first index of the largest value by {@code >} (ties to the lowest id; a NaN never wins a comparison, so one at
     * the start is kept). A plain loop, on purpose: the Vector API's form (the maximum, then a vector search for it) ran
     * 0.033 ms a call on [151936] once C2 had compiled it, but 9.5-12.6 ms before that, in C1's code, where every vector
     * operation is a call and an allocation; called once a token, it waits behind the kernels in C2's queue for the
     * first seconds of a process (tier 3 from 6.7 s to 8.4 s of one bench run), which is why greedy decode spent 0.4-2.4
     * ms a token here in some processes. This loop: 0.45 ms in C1, 0.05 ms in C2 (`-XX:TieredStopAtLevel=3` and 4, 200
     * calls, AMD EPYC Zen 4).
     */
    public static int argmax(float[] x, int off, int len) {
        int best = 0;
        float bv = x[off];
        for (int i = 1; i < len; i++) {
            if (x[off + i] > bv) {
                bv = x[off + i];
                best = i;
            }
        }
        return best;
    }
}
