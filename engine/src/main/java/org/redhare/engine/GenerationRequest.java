package org.redhare.engine;

import java.util.Set;

/**
 * One generation: the prompt as token ids (used exactly as given), how to sample, when to stop.
 *
 * @param maxTokens      most tokens to generate
 * @param stopTokenIds   tokens that end the generation (EOS and end-of-turn); ignored when {@code ignoreEos}
 * @param ignoreEos      keep going past EOS (benchmarks, tests)
 * @param topLogprobs    how many most likely alternatives to report with each token, 0..20
 * @param promptLogprobs also report the logprob of every prompt token (OpenAI completions {@code echo});
 *                       such a request computes its whole prompt (no prefix cache reuse)
 * @param logprobs       report each sampled token's logprob (implied by the two above); without it the logprob is NaN,
 *                       and a greedy or top-k request need not compute the whole softmax (nor, with a screened LM head,
 *                       every logit)
 * @param constraint     what tokens may come next (a JSON schema, say), or null for any; its own instance per request
 */
public record GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds, boolean ignoreEos,
                                int topLogprobs, boolean promptLogprobs, boolean logprobs, TokenConstraint constraint) {
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
        logprobs = logprobs || topLogprobs > 0 || promptLogprobs;
    }

    /** Without a constraint. */
    public GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds, boolean ignoreEos,
                             int topLogprobs, boolean promptLogprobs, boolean logprobs) {
        this(prompt, sampling, maxTokens, stopTokenIds, ignoreEos, topLogprobs, promptLogprobs, logprobs, null);
    }

    /** With each sampled token's logprob (and {@code topLogprobs} alternatives). */
    public GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds, boolean ignoreEos,
                             int topLogprobs, boolean promptLogprobs) {
        this(prompt, sampling, maxTokens, stopTokenIds, ignoreEos, topLogprobs, promptLogprobs, true);
    }

    /** Without logprobs: tokens only. */
    public GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds, boolean ignoreEos) {
        this(prompt, sampling, maxTokens, stopTokenIds, ignoreEos, 0, false, false);
    }

    /** Most top-k a request may have its logits screened for ({@link #exactTop}); larger ones take every logit. */
    static final int MAX_SCREENED_TOP_K = 256;

    /**
     * How many of each step's largest logits this request reads ({@code ForwardBatch#exactTop}): 1 greedy, {@code k} with
     * top-k sampling (its sampler reads only those), 0 where every logit matters (logprobs, no top-k). Penalties change
     * some logits first: the step passes the sampler to the model as the change ({@code ForwardBatch#adjust}). A
     * constrained request reads the same; when its constraint refuses the drawn token the engine asks the model for
     * every logit ({@code CausalLM#exactLogits}) before drawing among the allowed ones.
     */
    int exactTop() {
        if (logprobs) {
            return 0;
        }
        if (sampling.greedy()) {
            return 1;
        }
        return sampling.topK() <= MAX_SCREENED_TOP_K ? sampling.topK() : 0;
    }
}
