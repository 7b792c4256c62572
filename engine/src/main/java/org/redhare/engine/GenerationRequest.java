package org.redhare.engine;

import java.util.Set;

/**
 * One generation: the prompt as token ids (used exactly as given), how to sample, when to stop.
 *
 * @param maxTokens      most tokens to generate
 * @param stopTokenIds   tokens that end the generation (EOS and end-of-turn); ignored when {@code ignoreEos}
 * @param ignoreEos      keep going past EOS (benchmarks, tests)
 * @param topLogprobs    how many most likely alternatives to report with each token, 0..20 (the sampled
 *                       token's own logprob is always reported)
 * @param promptLogprobs also report the logprob of every prompt token (OpenAI completions {@code echo});
 *                       such a request computes its whole prompt (no prefix cache reuse)
 */
public record GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds, boolean ignoreEos,
                                int topLogprobs, boolean promptLogprobs) {
    /** Most alternatives per token a request may ask for (as the OpenAI API). */
    public static final int MAX_TOP_LOGPROBS = 20;

    public GenerationRequest {
        if (prompt == null || prompt.length == 0) {
            throw new InvalidRequestException("the prompt is empty: give at least one token");
        }
        if (maxTokens < 1) {
            throw new InvalidRequestException("max tokens must be at least 1, got " + maxTokens);
        }
        if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
            throw new InvalidRequestException("top logprobs must be between 0 and " + MAX_TOP_LOGPROBS + ", got " + topLogprobs);
        }
        prompt = prompt.clone();
        stopTokenIds = Set.copyOf(stopTokenIds);
    }

    public GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds, boolean ignoreEos) {
        this(prompt, sampling, maxTokens, stopTokenIds, ignoreEos, 0, false);
    }
}
