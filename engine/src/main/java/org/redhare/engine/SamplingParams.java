package org.redhare.engine;

import java.util.Map;

/**
 * How to pick each next token. {@code temperature == 0} is greedy (argmax). Filters apply in the
 * order penalties, temperature, top-k, top-p, min-p. A {@code seed} makes sampling reproducible.
 *
 * @param topK              keep the k most likely tokens; 0 disables
 * @param topP              keep the smallest set whose probability reaches p; 1 disables
 * @param minP              drop tokens less likely than {@code minP * p(max)}; 0 disables
 * @param repetitionPenalty divide positive (multiply negative) logits of tokens already seen; 1 disables
 * @param presencePenalty   subtract once from the logit of every generated token (OpenAI); 0 disables
 * @param frequencyPenalty  subtract per occurrence in the generated tokens (OpenAI); 0 disables
 * @param seed              random seed; null for a fresh one
 * @param logitBias         added to the logits of these token ids after the penalties (OpenAI's {@code logit_bias}, each in
 *                          [-100, 100]: -100 bans a token, 100 all but forces it); empty for none
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        float frequencyPenalty,
        Long seed,
        Map<Integer, Float> logitBias) {

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null);

    /** Without logit biases. */
    public SamplingParams(float temperature, int topK, float topP, float minP, float repetitionPenalty, float presencePenalty,
                          float frequencyPenalty, Long seed) {
        this(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed, Map.of());
    }

    public SamplingParams {
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
        for (var e : logitBias.entrySet()) {
            float b = e.getValue();
            check(e.getKey() >= 0, "logit bias for a negative token id " + e.getKey());
            check(Float.isFinite(b) && b >= -100 && b <= 100, "logit bias of token " + e.getKey() + " must be in [-100, 100], got " + b);
        }
        check(Float.isFinite(temperature) && temperature >= 0, "temperature must be >= 0 (0 = greedy), got " + temperature);
        check(topK >= 0, "top-k must be >= 0 (0 = disabled), got " + topK);
        check(topP > 0 && topP <= 1, "top-p must be in (0, 1], got " + topP);
        check(minP >= 0 && minP <= 1, "min-p must be in [0, 1], got " + minP);
        check(Float.isFinite(repetitionPenalty) && repetitionPenalty > 0, "repetition penalty must be > 0 (1 = off), got " + repetitionPenalty);
        check(Float.isFinite(presencePenalty) && presencePenalty >= -2 && presencePenalty <= 2, "presence penalty must be in [-2, 2], got " + presencePenalty);
        check(Float.isFinite(frequencyPenalty) && frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency penalty must be in [-2, 2], got " + frequencyPenalty);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new InvalidRequestException(message);
        }
    }

    public boolean greedy() {
        return temperature == 0f;
    }

    public SamplingParams withSeed(Long s) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty, s, logitBias);
    }
}
