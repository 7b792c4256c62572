package org.redhare.engine;

import java.util.ArrayList;
import java.util.List;
import org.redhare.core.ops.Ops;

/** Log-softmax pieces over one logits row, with scratch reused across calls. Engine thread only. */
final class Logprobs {
    private float[] scratch = new float[0];
    private int[] topIds = new int[GenerationRequest.MAX_TOP_LOGPROBS];
    private float[] topValues = new float[GenerationRequest.MAX_TOP_LOGPROBS];

    /** {@code log(sum(exp(x)))} of {@code x[off .. off+len)}; the row is left as it was. */
    float logSumExp(float[] x, int off, int len) {
        float max = Ops.max(x, off, len);
        return max + (float) Math.log(Ops.sumExpShifted(x, off, len, max)); // vector exp, nothing copied
    }

    /** A copy of a row (for a sampler that modifies the logits), in reused scratch. */
    float[] copy(float[] x, int off, int len) {
        if (scratch.length < len) {
            scratch = new float[len];
        }
        System.arraycopy(x, off, scratch, 0, len);
        return scratch;
    }

    /**
     * The {@code k} largest entries of {@code x[off .. off+len)} as logprobs (value minus {@code logZ}),
     * most likely first; equal values in id order.
     */
    List<TokenLogprob> top(float[] x, int off, int len, int k, float logZ) {
        if (k == 0) {
            return List.of();
        }
        int n = Largest.of(x, off, len, k, topIds, topValues);
        List<TokenLogprob> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new TokenLogprob(topIds[i], topValues[i] - logZ));
        }
        return List.copyOf(out);
    }
}
