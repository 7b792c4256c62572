package org.redhare.engine;

import org.redhare.model.Pooling;

/**
 * One text to embed: its tokens (used exactly as given, the tokenizer's special tokens included), how the final hidden
 * states of its tokens become one vector, and how many leading tokens (a named prompt the model's pooling leaves out)
 * take no part in it. The vector comes raw, as pooled: normalizing it is the caller's.
 */
public record EmbeddingRequest(int[] input, Pooling pooling, int skip) {
    public EmbeddingRequest {
        if (input == null || input.length == 0) {
            throw new InvalidRequestException("the input is empty: give at least one token");
        }
        if (pooling == null) {
            throw new IllegalArgumentException("pooling is required");
        }
        if (skip < 0 || (skip >= input.length && pooling != Pooling.LAST)) {
            throw new InvalidRequestException("the input has " + input.length + " tokens, all of them prompt: give text after the prompt");
        }
        input = input.clone();
    }

    /** All tokens pooled. */
    public EmbeddingRequest(int[] input, Pooling pooling) {
        this(input, pooling, 0);
    }
}
