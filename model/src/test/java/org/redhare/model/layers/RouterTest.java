package org.redhare.model.layers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Routing against hand-computed cases. */
class RouterTest {
    static float logit(double p) { // inverse sigmoid
        return (float) Math.log(p / (1 - p));
    }

    @Test
    void softmaxTopKRenormalizedAsMixtral() {
        Router r = new Router(Router.Scoring.SOFTMAX, 4, 2, true, 1f, Router.GroupSelection.NONE, 1, 1, null);
        float[] logits = {(float) Math.log(1), (float) Math.log(3), (float) Math.log(2), (float) Math.log(4)}; // p = .1 .3 .2 .4
        int[] ids = new int[2];
        float[] w = new float[2];
        r.route(logits, 0, ids, 0, w, 0, new float[8]);
        assertThat(ids).containsExactly(3, 1);
        assertThat(w[0]).isCloseTo(0.4f / 0.7f, within(1e-6f));
        assertThat(w[1]).isCloseTo(0.3f / 0.7f, within(1e-6f));
    }

    @Test
    void softmaxWithoutRenormalizationKeepsProbabilities() {
        Router r = new Router(Router.Scoring.SOFTMAX, 4, 2, false, 1f, Router.GroupSelection.NONE, 1, 1, null);
        float[] logits = {(float) Math.log(1), (float) Math.log(3), (float) Math.log(2), (float) Math.log(4)};
        int[] ids = new int[2];
        float[] w = new float[2];
        r.route(logits, 0, ids, 0, w, 0, new float[8]);
        assertThat(w[0]).isCloseTo(0.4f, within(1e-6f));
        assertThat(w[1]).isCloseTo(0.3f, within(1e-6f));
    }

    @Test
    void deepseekGroupsBiasAndScaling() {
        // 8 experts in 4 groups of 2; pick top-2 groups by the sum of their two biased scores, then top-2 experts.
        double[] s = {0.9, 0.1, 0.5, 0.5, 0.2, 0.2, 0.6, 0.3};
        float[] bias = {0f, 0f, 0f, 0f, 0f, 0f, 0f, 0.5f};
        float[] logits = new float[8];
        for (int i = 0; i < 8; i++) logits[i] = logit(s[i]);
        // biased: .9 .1 | .5 .5 | .2 .2 | .6 .8 -> group sums 1.0, 1.0, 0.4, 1.4 -> groups 3 and 0 (0 beats 1 on ties by order)
        // candidates: e0 .9, e1 .1, e6 .6, e7 .8 (biased) -> top-2 by biased score: e0 (.9), e7 (.8)
        // weights use unbiased scores .9 and .3, renormalized, times 2.5
        Router r = new Router(Router.Scoring.SIGMOID, 8, 2, true, 2.5f, Router.GroupSelection.TOP2_SUM, 4, 2, bias);
        int[] ids = new int[2];
        float[] w = new float[2];
        r.route(logits, 0, ids, 0, w, 0, new float[16]);
        assertThat(ids).containsExactly(0, 7);
        assertThat(w[0]).isCloseTo((float) (0.9 / 1.2 * 2.5), within(1e-5f));
        assertThat(w[1]).isCloseTo((float) (0.3 / 1.2 * 2.5), within(1e-5f));
    }

    @Test
    void groupLimitExcludesAStrongExpertInAWeakGroup() {
        // Expert 4 has the best single score but its group (4,5) has the weakest pair sum.
        double[] s = {0.6, 0.6, 0.55, 0.55, 0.95, 0.01, 0.5, 0.5};
        float[] logits = new float[8];
        for (int i = 0; i < 8; i++) logits[i] = logit(s[i]);
        Router r = new Router(Router.Scoring.SIGMOID, 8, 2, false, 1f, Router.GroupSelection.TOP2_SUM, 4, 2, null);
        int[] ids = new int[2];
        float[] w = new float[2];
        r.route(logits, 0, ids, 0, w, 0, new float[16]);
        // group sums: 1.2, 1.1, 0.96, 1.0 -> groups 0 and 1
        assertThat(ids).containsExactlyInAnyOrder(0, 1);
        assertThat(w[0]).isCloseTo(0.6f, within(1e-5f)); // no renormalization, scale 1
        // V2-style: groups ranked by their best score -> group 2 (0.95) and group 0 (0.6) -> experts 4 and 0
        Router v2 = new Router(Router.Scoring.SIGMOID, 8, 2, false, 1f, Router.GroupSelection.MAX, 4, 2, null);
        v2.route(logits, 0, ids, 0, w, 0, new float[16]);
        assertThat(ids).containsExactly(4, 0);
    }
}
