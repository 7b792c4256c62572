package org.redhare.engine;

import java.util.Set;

/**
 * One generation: the prompt as token ids (used exactly as given), how to sample, when to stop.
 *
 * @param maxTokens    most tokens to generate
 * @param stopTokenIds tokens that end the generation (EOS and end-of-turn); ignored when {@code ignoreEos}
 * @param ignoreEos    keep going past EOS (benchmarks, tests)
 */
public record GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds, boolean ignoreEos) {
    public GenerationRequest {
        if (prompt == null || prompt.length == 0) {
            throw new InvalidRequestException("the prompt is empty: give at least one token");
        }
        if (maxTokens < 1) {
            throw new InvalidRequestException("max tokens must be at least 1, got " + maxTokens);
        }
        prompt = prompt.clone();
        stopTokenIds = Set.copyOf(stopTokenIds);
    }
}
