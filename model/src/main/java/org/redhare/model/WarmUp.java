package org.redhare.model;

import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;

/**
 * A few forward passes on a scratch KV cache, so the JIT compiles the kernels before the first real request.
 *
 * <p>Why: the Vector API is only fast once C2 has compiled a kernel; until then it runs interpreted, and the
 * first forward pass of a fresh JVM takes seconds (about 2 s more for a first chat request on the Qwen2.5-0.5B
 * shape). A server pays that once at startup instead of on a user's first message. The passes cover the shapes a
 * server runs: a prompt (the prompt tiles), a 16-token step with 16 logit rows (batched decode and the LM head on
 * several rows), and single tokens (decode). Nothing is shared with the engine: no cache blocks, no statistics.
 */
public final class WarmUp {
    private WarmUp() {}

    private static final int BLOCK = 16;
    private static final int PROMPT = 48;
    private static final int STEP = 16;
    private static final int SINGLE = 6;

    /** Runs the warm-up passes with KV entries of {@code kvDtype}; returns the time taken in milliseconds. */
    public static long run(CausalLM model, KvDtype kvDtype) {
        long t0 = System.nanoTime();
        int total = PROMPT + STEP + SINGLE;
        int blocks = (total + BLOCK - 1) / BLOCK;
        int vocab = model.vocabSize();
        try (PagedKvCache cache = model.kvLayout().allocate(blocks, BLOCK, kvDtype)) {
            int[] table = new int[blocks];
            for (int i = 0; i < blocks; i++) {
                table[i] = i;
            }
            int[] ids = new int[total];
            for (int i = 0; i < total; i++) {
                ids[i] = (int) ((i * 7919L + 13) % vocab); // any valid ids: speed does not depend on them
            }
            float[] logits = new float[STEP * vocab];
            model.forward(ForwardBatch.ofSequence(java.util.Arrays.copyOfRange(ids, 0, PROMPT), 0, table, false), cache, logits);
            model.forward(ForwardBatch.ofSequence(java.util.Arrays.copyOfRange(ids, PROMPT, PROMPT + STEP), PROMPT, table, true), cache, logits);
            for (int i = PROMPT + STEP; i < total; i++) {
                model.forward(ForwardBatch.ofSequence(new int[] {ids[i]}, i, table, false), cache, logits);
            }
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
