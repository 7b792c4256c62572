package org.redhare.model.layers;

/**
 * Picks the experts of one token from its router logits, the way each family's reference does:
 * <ul>
 *   <li>Mixtral, Qwen-MoE: softmax over all experts, top-k, optionally renormalized;</li>
 *   <li>DeepSeek-V3 ({@code noaux_tc}): sigmoid scores; a correction bias is added for <em>choosing</em>
 *       only; experts are chosen inside the {@code topkGroup} groups whose two best biased scores sum
 *       highest; weights are the unbiased scores, renormalized, times {@code routed_scaling_factor};</li>
 *   <li>DeepSeek-V2 ({@code group_limited_greedy}): softmax; groups ranked by their best score.</li>
 * </ul>
 */
public final class Router {
    public enum Scoring { SOFTMAX, SIGMOID }

    public enum GroupSelection {
        /** No group limit. */
        NONE,
        /** Rank groups by their highest score (DeepSeek-V2 group_limited_greedy). */
        MAX,
        /** Rank groups by the sum of their two highest biased scores (DeepSeek-V3 noaux_tc). */
        TOP2_SUM
    }

    private final Scoring scoring;
    private final int experts;
    private final int topK;
    private final boolean normalize;
    private final float scale;
    private final GroupSelection groups;
    private final int nGroup;
    private final int topkGroup;
    private final float[] bias; // [experts] or null: added for choosing only

    public Router(Scoring scoring, int experts, int topK, boolean normalize, float scale, GroupSelection groups, int nGroup, int topkGroup,
                  float[] bias) {
        if (topK < 1 || topK > experts) {
            throw new IllegalArgumentException("experts per token must be in [1, " + experts + "], got " + topK);
        }
        if (groups != GroupSelection.NONE && (nGroup < 1 || experts % nGroup != 0 || topkGroup < 1 || topkGroup > nGroup)) {
            throw new IllegalArgumentException("invalid expert groups: n_group=" + nGroup + ", topk_group=" + topkGroup + " for " + experts + " experts");
        }
        this.scoring = scoring;
        this.experts = experts;
        this.topK = topK;
        this.normalize = normalize;
        this.scale = scale;
        this.groups = groups;
        this.nGroup = nGroup;
        this.topkGroup = topkGroup;
        this.bias = bias;
    }

    public int topK() {
        return topK;
    }

    public int experts() {
        return experts;
    }

    /**
     * Routes one token. {@code scratch} needs {@code 2 * experts} floats.
     *
     * @param logits router logits {@code [off, off + experts)}
     * @param ids    receives the chosen experts, best first ({@code topK})
     * @param weights receives their weights
     */
    public void route(float[] logits, int off, int[] ids, int idOff, float[] weights, int wOff, float[] scratch) {
        float[] scores = scratch;           // [experts]: weighting scores
        int choiceOff = experts;            // scratch[experts..2*experts): choosing scores
        if (scoring == Scoring.SOFTMAX) {
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits[off + e]);
            }
            double sum = 0;
            for (int e = 0; e < experts; e++) {
                double v = Math.exp(logits[off + e] - max);
                scores[e] = (float) v;
                sum += v;
            }
            for (int e = 0; e < experts; e++) {
                scores[e] = (float) (scores[e] / sum);
            }
        } else {
            for (int e = 0; e < experts; e++) {
                scores[e] = (float) (1.0 / (1.0 + Math.exp(-logits[off + e])));
            }
        }
        for (int e = 0; e < experts; e++) {
            scratch[choiceOff + e] = bias == null ? scores[e] : scores[e] + bias[e];
        }
        if (groups != GroupSelection.NONE) {
            int per = experts / nGroup;
            float[] groupScore = new float[nGroup];
            for (int g = 0; g < nGroup; g++) {
                float best = Float.NEGATIVE_INFINITY;
                float second = Float.NEGATIVE_INFINITY;
                for (int e = g * per; e < (g + 1) * per; e++) {
                    float v = scratch[choiceOff + e];
                    if (v > best) {
                        second = best;
                        best = v;
                    } else if (v > second) {
                        second = v;
                    }
                }
                groupScore[g] = groups == GroupSelection.MAX ? best : best + (per > 1 ? second : 0f);
            }
            boolean[] keep = new boolean[nGroup];
            for (int i = 0; i < topkGroup; i++) {
                int bestG = -1;
                for (int g = 0; g < nGroup; g++) {
                    if (!keep[g] && (bestG < 0 || groupScore[g] > groupScore[bestG])) {
                        bestG = g;
                    }
                }
                keep[bestG] = true;
            }
            for (int g = 0; g < nGroup; g++) {
                if (!keep[g]) {
                    for (int e = g * per; e < (g + 1) * per; e++) {
                        scratch[choiceOff + e] = Float.NEGATIVE_INFINITY;
                    }
                }
            }
        }
        // Top-k by choosing score (ties: lower expert id first, as torch.topk on CPU in practice).
        double sum = 0;
        for (int i = 0; i < topK; i++) {
            int best = -1;
            float bestValue = 0;
            for (int e = 0; e < experts; e++) {
                if (chosen(ids, idOff, i, e)) {
                    continue;
                }
                float v = scratch[choiceOff + e];
                if (best < 0 || v > bestValue) {
                    best = e;
                    bestValue = v;
                }
            }
            ids[idOff + i] = best;
            weights[wOff + i] = scores[best];
            sum += scores[best];
        }
        for (int i = 0; i < topK; i++) {
            float w = weights[wOff + i];
            if (normalize) {
                w = (float) (w / (sum + (scoring == Scoring.SIGMOID ? 1e-20 : 0)));
            }
            weights[wOff + i] = w * scale;
        }
    }

    private static boolean chosen(int[] ids, int off, int count, int e) {
        for (int i = 0; i < count; i++) {
            if (ids[off + i] == e) {
                return true;
            }
        }
        return false;
    }
}
