package org.redhare.model;

import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;

/** A loaded decoder-only language model. Not thread-safe: one engine thread drives it. */
public interface CausalLM extends AutoCloseable {

    ModelConfig config();

    int vocabSize();

    /** Layout of this model's KV cache (MLA models store a latent instead of per-head keys/values). */
    KvLayout kvLayout();

    /**
     * Runs the batch through the model: writes each token's keys/values into {@code cache}, then
     * writes the logits of the tokens in {@code batch.logitRows()} into {@code logits}
     * ({@code [logitRows.length, vocab]}).
     */
    void forward(ForwardBatch batch, PagedKvCache cache, float[] logits);

    /**
     * {@link #forward(ForwardBatch, PagedKvCache, float[])}, and also the final hidden states of the tokens in
     * {@code batch.stateRows()} into {@code states} ({@code [stateRows.length, hidden]}): the last norm's output, which
     * the LM head multiplies (Hugging Face's {@code last_hidden_state}; what embedding models pool). A model that cannot
     * give them refuses a batch that asks.
     */
    default void forward(ForwardBatch batch, PagedKvCache cache, float[] logits, float[] states) {
        if (batch.stateRows().length > 0) {
            throw new UnsupportedOperationException("this model gives no hidden states");
        }
        forward(batch, cache, logits);
    }

    /**
     * Makes the last {@link #forward}'s single row of logits exact where the model screened its LM head for that step
     * ({@link ForwardBatch#exactTop}: only the largest logits were computed exactly). A caller that needs the others, such
     * as a token constraint that refused the drawn token, asks for them here; a no-op when they already are exact.
     */
    default void exactLogits(float[] logits) {}

    Parallel pool();

    /** Total parameters and bytes of weights, and a one-line description per tensor group, for {@code info}. */
    ModelSummary summary();

    /**
     * The KV cache element type when the user names none ({@code --kv-cache-dtype auto}): F32 for a model whose weights
     * are mostly F32 (tiny test models, small GGUF files in F32), where a cache rounder than the weights would be the
     * larger error; BF16 for every other model (BF16, F16, FP8 and quantized weights), as vLLM keeps the cache in the
     * model's 16-bit type and llama.cpp in F16. BF16 halves the cache's memory, so twice the context or users fit in a
     * pool, and runs as fast as F32 (faster at long contexts, where attention reads the cache); on stories260K it moves
     * the next-token distribution by a mean KL divergence of 0.00015, top-1 agreeing on 99.5% of positions
     * (docs/PERFORMANCE.md). F16 keeps three more mantissa bits but costs about a quarter of prompt speed here.
     */
    default KvDtype autoKvDtype() {
        java.util.Map<String, Long> byDtype = summary().parametersByDtype();
        long all = 0;
        for (long n : byDtype.values()) {
            all += n;
        }
        return 2 * byDtype.getOrDefault("F32", 0L) > all ? KvDtype.F32 : KvDtype.BF16;
    }

    @Override
    void close();

    /**
     * Per-token KV geometry: entries per layer for keys and values, and the KV heads they are made of (a {@link
     * KvDtype#Q8} cache keeps a scale per token and head); the layers whose queries see a sliding window ({@code
     * windowed}, null for none) and the widest such window ({@code window} keys, 0 for none).
     */
    record KvLayout(int layers, int kWidth, int vWidth, int kvHeads, boolean[] windowed, int window) {
        public KvLayout {
            if (windowed != null) {
                boolean any = false;
                for (boolean w : windowed) any |= w;
                if (windowed.length != layers || (any && window < 1)) {
                    throw new IllegalArgumentException(layers + " layers, " + windowed.length + " window flags, window " + window);
                }
                windowed = any ? windowed.clone() : null;
            }
            if (windowed == null) {
                window = 0;
            }
        }

        /** No sliding-window layers. */
        public KvLayout(int layers, int kWidth, int vWidth, int kvHeads) {
            this(layers, kWidth, vWidth, kvHeads, null, 0);
        }

        /** One KV head (a latent cache). */
        public KvLayout(int layers, int kWidth, int vWidth) {
            this(layers, kWidth, vWidth, 1);
        }

        /** This layout with layers {@code windowed[l]} seeing at most {@code window} keys (no window layers if none is set). */
        public KvLayout withWindows(boolean[] windowed, int window) {
            return new KvLayout(layers, kWidth, vWidth, kvHeads, windowed, window);
        }

        /** Layers whose queries see a sliding window (whose blocks behind it can be given back). */
        public int windowLayers() {
            int n = 0;
            for (int l = 0; windowed != null && l < layers; l++) {
                if (windowed[l]) n++;
            }
            return n;
        }

        /** Whether layer {@code l} sees a sliding window. */
        public boolean windowed(int l) {
            return windowed != null && windowed[l];
        }

        /** Bytes a token occupies in every layer. */
        public long bytesPerToken(KvDtype dtype) {
            return PagedKvCache.bytesPerToken(layers, kWidth, vWidth, dtype, kvHeads);
        }

        /** Bytes a token occupies in the sliding-window layers alone. */
        public long windowBytesPerToken(KvDtype dtype) {
            return PagedKvCache.bytesPerToken(1, kWidth, vWidth, dtype, kvHeads) * windowLayers();
        }

        /** A cache of {@code blocks} blocks in every layer. */
        public PagedKvCache allocate(int blocks, int blockSize, KvDtype dtype) {
            return new PagedKvCache(layers, blocks, blockSize, kWidth, vWidth, dtype, kvHeads);
        }

        /** A cache of {@code blocks} blocks in each layer but the sliding-window ones, which hold {@code windowBlocks}. */
        public PagedKvCache allocate(int blocks, int windowBlocks, int blockSize, KvDtype dtype) {
            return new PagedKvCache(layers, blocks, blockSize, kWidth, vWidth, dtype, kvHeads, windowed, windowBlocks);
        }

        /** Why this cache cannot hold {@code dtype}, or null: an 8-bit cache needs keys and values by heads. */
        public String unsupported(KvDtype dtype) {
            return dtype == KvDtype.Q8 && vWidth == 0
                    ? "q8 holds the keys and values of attention heads; this model's latent cache (multi-head latent attention) takes f32, bf16 or f16"
                    : null;
        }
    }
}
