package org.redhare.engine;

import org.redhare.core.attention.KvDtype;

/**
 * Engine limits.
 *
 * @param maxContext     longest sequence (prompt + generated) in tokens
 * @param kvCacheTokens  tokens the KV pool holds across all sequences (rounded up to whole blocks)
 * @param kvDtype        element type of the KV cache
 * @param blockSize      tokens per KV block
 * @param maxBatchTokens token budget of one step (decode tokens plus prefill chunks)
 * @param maxRunning     sequences decoded together at most
 * @param prefillFirst   schedule waiting prompts before decode tokens (lower time to first token, burstier decode)
 */
public record EngineConfig(int maxContext, int kvCacheTokens, KvDtype kvDtype, int blockSize, int maxBatchTokens, int maxRunning,
                           boolean prefillFirst) {
    public EngineConfig {
        if (maxContext < 2) throw new IllegalArgumentException("context length must be at least 2, got " + maxContext);
        if (blockSize < 1) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        if (kvCacheTokens < blockSize) throw new IllegalArgumentException("the KV cache must hold at least one block of " + blockSize + " tokens");
        if (maxBatchTokens < 1) throw new IllegalArgumentException("--max-batch-tokens must be positive, got " + maxBatchTokens);
        if (maxRunning < 1) throw new IllegalArgumentException("--max-running must be positive, got " + maxRunning);
    }

    /** One sequence at a time with room for the whole context: the CLI's generate. */
    public static EngineConfig single(int maxContext, KvDtype kvDtype) {
        return new EngineConfig(maxContext, maxContext + 16, kvDtype, 16, 512, 1, false);
    }

    public int kvBlocks() {
        return (kvCacheTokens + blockSize - 1) / blockSize;
    }
}
