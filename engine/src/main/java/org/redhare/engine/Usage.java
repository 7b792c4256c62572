package org.redhare.engine;

/**
 * Counts and timings of one finished generation. Prompt speed covers submission to first token
 * (queueing included); decode speed covers the tokens after the first.
 */
public record Usage(int promptTokens, int completionTokens, long queuedNanos, long promptNanos, long decodeNanos, int cachedPromptTokens) {
    public double promptTokensPerSecond() {
        return promptNanos <= 0 ? 0 : promptTokens * 1e9 / promptNanos;
    }

    public double decodeTokensPerSecond() {
        return decodeNanos <= 0 || completionTokens < 2 ? 0 : (completionTokens - 1) * 1e9 / decodeNanos;
    }
}
