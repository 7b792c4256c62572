package org.redhare.server;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;

/**
 * A model whose reply is a script: whatever the prompt, generated token k is {@code script[k]} (the logits put all
 * weight on it), so a test can make the engine write what a random model never would, such as a tool call, and watch it
 * go through the engine, the detokenizer and the server like any reply. Needs one whole prompt per step (no prefix
 * caching, a batch budget above the prompt): a sequence's rows with more than one token are its prompt, its single-token
 * rows decode. Config, vocabulary and KV layout come from the wrapped model, which never runs.
 */
public final class ScriptedModel extends ForwardingModel {
    private final ArrayDeque<int[]> replies = new ArrayDeque<>(); // guarded by this; the last one stays
    private final Map<Integer, Integer> firstGenerated = new HashMap<>(); // first KV block of a sequence -> position of its first generated token
    private final Map<Integer, int[]> scriptOf = new HashMap<>();         // first KV block of a sequence -> its reply

    public ScriptedModel(CausalLM model) {
        super(model);
    }

    /** The tokens every following request generates, in order (end it with an end-of-turn token to stop). */
    public void script(int[] tokens) {
        scripts(List.of(tokens));
    }

    /**
     * The replies of the following requests, one per new sequence in the order they reach the model; the last one is
     * every later request's too (for a client that makes several requests itself, such as a tool-calling loop).
     */
    public synchronized void scripts(List<int[]> tokens) {
        replies.clear();
        tokens.forEach(t -> replies.add(t.clone()));
    }

    /** The replies of the following requests as text in {@code text}'s tokens (special-token text such as <|im_end|> becomes those tokens). */
    public void replies(org.redhare.text.ModelText text, String... texts) {
        List<int[]> tokens = new java.util.ArrayList<>();
        for (String t : texts) {
            tokens.add(text.encodeRendered(t));
        }
        scripts(tokens);
    }

    private synchronized int[] nextReply() {
        if (replies.isEmpty()) return new int[0];
        return replies.size() > 1 ? replies.poll() : replies.peek();
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache cache, float[] logits, float[] states) {
        if (batch.stateRows().length > 0) { // embeddings: the wrapped model's own hidden states
            model.forward(new ForwardBatch(batch.tokens(), batch.positions(), batch.tables(), new int[0], 0, null, batch.stateRows()),
                    cache, new float[0], states);
        }
        forward(batch, cache, logits);
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache cache, float[] logits) {
        int vocab = vocabSize();
        Map<int[], Integer> tokensOfSequence = new IdentityHashMap<>();
        for (int[] table : batch.tables()) {
            tokensOfSequence.merge(table, 1, Integer::sum);
        }
        int[] rows = batch.logitRows();
        for (int r = 0; r < rows.length; r++) {
            int t = rows[r];
            int[] table = batch.tables()[t];
            int pos = batch.positions()[t];
            if (tokensOfSequence.get(table) > 1) {
                firstGenerated.put(table[0], pos + 1); // the prompt's last token: what follows is generated token 0
                scriptOf.put(table[0], nextReply());
            }
            int k = pos + 1 - firstGenerated.getOrDefault(table[0], pos + 1);
            int[] s = scriptOf.getOrDefault(table[0], new int[0]);
            int next = s.length == 0 ? 0 : s[Math.min(k, s.length - 1)];
            java.util.Arrays.fill(logits, r * vocab, (r + 1) * vocab, 0f);
            logits[r * vocab + next] = 50f; // every other token is e^-50 as likely: sampling picks the script too
        }
    }
}
