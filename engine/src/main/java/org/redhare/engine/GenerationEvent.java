package org.redhare.engine;

import java.util.List;

/**
 * What a generation handle streams: at most one {@link Prompt} (when prompt logprobs were asked for),
 * then tokens as they are sampled, then exactly one {@link Finished}. An embedding's handle streams one
 * {@link Embedding} (unless it is cancelled or fails) and its {@link Finished}.
 */
public sealed interface GenerationEvent {

    /**
     * A sampled token. {@code logprob} is its log-probability under the model's raw distribution
     * (log-softmax of the logits before temperature and penalties), NaN unless the request asked for logprobs
     * ({@link GenerationRequest#logprobs()}); {@code top} holds the
     * {@link GenerationRequest#topLogprobs()} most likely tokens of that distribution, most likely first
     * (empty when none were asked for).
     */
    record Token(int id, float logprob, List<TokenLogprob> top) implements GenerationEvent {
        public Token {
            top = List.copyOf(top);
        }

        public Token(int id, float logprob) {
            this(id, logprob, List.of());
        }
    }

    /**
     * Log-probabilities of the prompt's own tokens, sent once before the first {@link Token} when
     * {@link GenerationRequest#promptLogprobs()} is set. {@code logprobs[i]} is the log-probability of
     * prompt token {@code i} given tokens {@code 0..i-1}; {@code logprobs[0]} is NaN (nothing precedes it).
     * {@code top.get(i)} lists the most likely tokens at position {@code i} (empty for position 0).
     */
    record Prompt(float[] logprobs, List<List<TokenLogprob>> top) implements GenerationEvent {}

    /**
     * The pooled final hidden state of an {@link EmbeddingRequest}'s input ({@code hidden} floats, not normalized), sent
     * once, just before its {@link Finished}.
     */
    record Embedding(float[] vector) implements GenerationEvent {}

    record Finished(FinishReason reason, Usage usage, String message) implements GenerationEvent {}
}
