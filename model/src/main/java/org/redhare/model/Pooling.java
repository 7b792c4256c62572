package org.redhare.model;

/**
 * How an embedding is drawn from the final hidden states of a text's tokens (sentence-transformers' {@code Pooling}
 * modes; llama.cpp's {@code pooling_type}).
 */
public enum Pooling {
    /** The last token's state: decoder-only embedding models (Qwen3-Embedding, gte-Qwen2, e5-mistral) end on an EOS they read last. */
    LAST("lasttoken"),
    /** The first token's ({@code cls}). */
    FIRST("cls_token"),
    /** The mean over the tokens. */
    MEAN("mean_tokens"),
    /** The sum over the tokens divided by the square root of their count. */
    MEAN_SQRT_LEN("mean_sqrt_len_tokens"),
    /** The mean weighted by position (1 for the first token, 2 for the second, ...). */
    WEIGHTED_MEAN("weightedmean_tokens"),
    /** The largest value of each dimension over the tokens. */
    MAX("max_tokens");

    private final String sentenceTransformers;

    Pooling(String sentenceTransformers) {
        this.sentenceTransformers = sentenceTransformers;
    }

    /** The mode's key in a sentence-transformers {@code Pooling} config, without its {@code pooling_mode_} prefix. */
    public String sentenceTransformersName() {
        return sentenceTransformers;
    }

    /** Whether every token's state is read (so no prompt prefix may come from a cache that keeps only keys and values). */
    public boolean readsEveryToken() {
        return this != LAST;
    }

    /** Lower-case name, as requests and messages write it. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
