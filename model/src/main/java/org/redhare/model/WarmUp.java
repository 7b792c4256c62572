package org.redhare.model;

import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;

/**
 * A few forward passes on a scratch KV cache, so the JIT compiles the kernels before the first real request.
 *
 * <p>Why: the Vector API is only fast once C2 has compiled a kernel; until then it runs interpreted, and the
 * first forward pass of a fresh JVM takes seconds (about 2 s more for a first chat request on the Qwen2.5-0.5B
 * shape). A server pays that once at startup instead of on a user's first message.
 *
 * <p>The passes cover the shapes a server runs, because C2 compiles a method for the branches its profile has seen
 * taken and leaves the others to a trap: the first batch of a new shape then drops the method back to the interpreter,
 * where vector code allocates every vector, until it is compiled again. A server that had run one user for a while
 * took 268 ms instead of 84 for the first 15-user step after sixteen (the token-padding branch of the activation
 * packing; JIT log, docs/PERFORMANCE.md, fifty-second session). So: a prompt whose length is not a multiple of four
 * (the padded token group), the prompts of four users in one pass with the argmax of each (the screened LM head on
 * several rows), a decode step of sixteen users (greedy) and of thirteen (exact logits), and single tokens with and
 * without the screen. Nothing is shared with the engine: no cache blocks, no statistics.
 */
public final class WarmUp {
    private WarmUp() {}

    private static final int BLOCK = 16;
    private static final int PROMPT = 47;
    private static final int SINGLE = 6;
    /** Users of the batched passes; each has blocks of its own for a prompt of at most {@link #USER_PROMPT_MAX} tokens and one more. */
    private static final int USERS = 16;
    private static final int PROMPT_USERS = 4;
    private static final int USER_PROMPT_MAX = 15;
    private static final int FEWER_USERS = 13;

    /** Runs the warm-up passes with KV entries of {@code kvDtype}; returns the time taken in milliseconds. */
    public static long run(CausalLM model, KvDtype kvDtype) {
        long t0 = System.nanoTime();
        int vocab = model.vocabSize();
        int mainBlocks = (PROMPT + SINGLE + BLOCK - 1) / BLOCK;
        int userBlocks = (USER_PROMPT_MAX + 1 + BLOCK - 1) / BLOCK;
        try (PagedKvCache cache = model.kvLayout().allocate(mainBlocks + USERS * userBlocks, BLOCK, kvDtype)) {
            int[] main = blocks(0, mainBlocks);
            int[][] user = new int[USERS][];
            for (int u = 0; u < USERS; u++) {
                user[u] = blocks(mainBlocks + u * userBlocks, userBlocks);
            }
            float[] logits = new float[USERS * vocab];
            model.forward(ForwardBatch.ofSequence(ids(0, PROMPT, vocab), 0, main, false), cache, logits);

            // Four users' prompts of 12 to 15 tokens in one pass, the argmax of each last token.
            int total = 0;
            for (int u = 0; u < PROMPT_USERS; u++) {
                total += USER_PROMPT_MAX - u;
            }
            int[] tokens = ids(PROMPT, total, vocab);
            int[] pos = new int[total];
            int[][] tables = new int[total][];
            int[] last = new int[PROMPT_USERS];
            for (int u = 0, i = 0; u < PROMPT_USERS; u++) {
                for (int p = 0; p < USER_PROMPT_MAX - u; p++, i++) {
                    pos[i] = p;
                    tables[i] = user[u];
                }
                last[u] = i - 1;
            }
            model.forward(new ForwardBatch(tokens, pos, tables, last, 1), cache, logits);

            // A decode step of every user (greedy), then of fewer (exact logits, as sampling reads them).
            decodeStep(model, cache, logits, user, USERS, 1, vocab);
            decodeStep(model, cache, logits, user, FEWER_USERS, 0, vocab);

            for (int i = PROMPT; i < PROMPT + SINGLE; i++) {
                ForwardBatch one = new ForwardBatch(new int[] {ids(i, 1, vocab)[0]}, new int[] {i}, new int[][] {main}, new int[] {0}, i % 2);
                model.forward(one, cache, logits);
            }
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** One token for each of the first {@code users} users, after their longest prompt; logits for all, {@code exactTop} as given. */
    private static void decodeStep(CausalLM model, PagedKvCache cache, float[] logits, int[][] user, int users, int exactTop, int vocab) {
        int[] pos = new int[users];
        int[][] tables = new int[users][];
        int[] rows = new int[users];
        for (int u = 0; u < users; u++) {
            pos[u] = USER_PROMPT_MAX; // the keys and values before it are the prompt's, or the cache's zeros: speed is the same
            tables[u] = user[u];
            rows[u] = u;
        }
        model.forward(new ForwardBatch(ids(7 * users, users, vocab), pos, tables, rows, exactTop), cache, logits);
    }

    /** {@code n} valid token ids from {@code from} on: any will do, speed does not depend on them. */
    private static int[] ids(int from, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (int) (((from + i) * 7919L + 13) % vocab);
        }
        return ids;
    }

    private static int[] blocks(int first, int n) {
        int[] table = new int[n];
        for (int i = 0; i < n; i++) {
            table[i] = first + i;
        }
        return table;
    }
}
