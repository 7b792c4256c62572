package org.redhare.engine;

/** What a generation handle streams: tokens as they are sampled, then exactly one {@link Finished}. */
public sealed interface GenerationEvent {

    /** A sampled token; {@code logprob} is its log-probability under the model's (unscaled) distribution. */
    record Token(int id, float logprob) implements GenerationEvent {}

    record Finished(FinishReason reason, Usage usage, String message) implements GenerationEvent {}
}
