package org.redhare.server;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import org.redhare.core.Parallel;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelSummary;

/**
 * A model whose reply is a script: whatever the prompt, generated token k is {@code script[k]} (the logits put all
 * weight on it), so a test can make the engine write what a random model never would, such as a tool call, and watch it
 * go through the engine, the detokenizer and the server like any reply. Needs one whole prompt per step (no prefix
 * caching, a batch budget above the prompt): a sequence's rows with more than one token are its prompt, its single-token
 * rows decode. Config, vocabulary and KV layout come from the wrapped model, which never runs.
 */
final class ScriptedModel implements CausalLM {
    private final CausalLM model;
    private volatile int[] script = new int[0];
    private final Map<Integer, Integer> firstGenerated = new HashMap<>(); // first KV block of a sequence -> position of its first generated token

    ScriptedModel(CausalLM model) {
        this.model = model;
    }

    /** The tokens every following request generates, in order (end it with an end-of-turn token to stop). */
    void script(int[] tokens) {
        script = tokens.clone();
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache cache, float[] logits) {
        int vocab = vocabSize();
        Map<int[], Integer> tokensOfSequence = new IdentityHashMap<>();
        for (int[] table : batch.tables()) {
            tokensOfSequence.merge(table, 1, Integer::sum);
        }
        int[] s = script;
        int[] rows = batch.logitRows();
        for (int r = 0; r < rows.length; r++) {
            int t = rows[r];
            int[] table = batch.tables()[t];
            int pos = batch.positions()[t];
            if (tokensOfSequence.get(table) > 1) {
                firstGenerated.put(table[0], pos + 1); // the prompt's last token: what follows is generated token 0
            }
            int k = pos + 1 - firstGenerated.getOrDefault(table[0], pos + 1);
            int next = s.length == 0 ? 0 : s[Math.min(k, s.length - 1)];
            java.util.Arrays.fill(logits, r * vocab, (r + 1) * vocab, 0f);
            logits[r * vocab + next] = 50f; // every other token is e^-50 as likely: sampling picks the script too
        }
    }

    @Override
    public ModelConfig config() {
        return model.config();
    }

    @Override
    public int vocabSize() {
        return model.vocabSize();
    }

    @Override
    public KvLayout kvLayout() {
        return model.kvLayout();
    }

    @Override
    public Parallel pool() {
        return model.pool();
    }

    @Override
    public ModelSummary summary() {
        return model.summary();
    }

    @Override
    public void close() {
        model.close();
    }
}
