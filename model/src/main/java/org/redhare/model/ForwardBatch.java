package org.redhare.model;

import org.redhare.core.matrix.LogitAdjustment;

/**
 * The tokens one forward pass processes, possibly from several sequences: token {@code i} is
 * {@code tokens[i]} at {@code positions[i]} of the sequence whose KV block table is {@code tables[i]}.
 * Logits are produced for the token indices in {@code logitRows} (usually each sequence's last token).
 *
 * <p>{@code exactTop}: 0, every logit is exact; {@code k > 0}, the caller reads only each logits row's {@code k} largest
 * values (1: its argmax; greedy or top-k sampling, no penalties, no logprobs). The model may then write exact logits
 * only where a row could be among its {@code k} largest and lower approximations elsewhere (the screened LM head,
 * {@code org.redhare.core.matrix.ScreenedHead}); the {@code k} largest, their ids and order (first id on ties) are exact.
 * {@code adjust} (null for none) is what the caller then does to some logits of a batch's only logits row (a sampler's
 * penalties): the {@code k} largest after it are the exact ones.
 *
 * <p>{@code stateRows}: the token indices whose final hidden states (after the model's last norm: what Hugging Face's
 * {@code last_hidden_state} holds, the input of the LM head) the caller reads through
 * {@link CausalLM#forward(ForwardBatch, org.redhare.core.attention.PagedKvCache, float[], float[])}, for embeddings.
 *
 * <p>{@code windowTables}: each token's block table for the sliding-window layers (Gemma's local layers, Mistral's
 * windows), whose cache blocks are counted apart ({@link org.redhare.core.attention.PagedKvCache#windowBlocks}): a table
 * whose entries behind the token's window may be -1, their blocks given back. The same arrays as {@code tables} (null
 * given) where the window layers hold their whole context in the same blocks as the others.
 */
public record ForwardBatch(int[] tokens, int[] positions, int[][] tables, int[] logitRows, int exactTop, LogitAdjustment adjust,
                           int[] stateRows, int[][] windowTables) {
    private static final int[] NONE = new int[0];

    public ForwardBatch {
        if (tokens.length == 0 || positions.length != tokens.length || tables.length != tokens.length) {
            throw new IllegalArgumentException("a batch needs one position and one block table per token");
        }
        windowTables = windowTables != null ? windowTables : tables;
        if (windowTables.length != tokens.length) {
            throw new IllegalArgumentException("a batch needs one window block table per token");
        }
        if (exactTop < 0) {
            throw new IllegalArgumentException("exactTop must be >= 0, got " + exactTop);
        }
        stateRows = stateRows != null ? stateRows : NONE;
        for (int r : stateRows) {
            if (r < 0 || r >= tokens.length) {
                throw new IllegalArgumentException("state row " + r + " is outside the batch's " + tokens.length + " tokens");
            }
        }
    }

    /** A batch whose sliding-window layers use the same block tables as the others. */
    public ForwardBatch(int[] tokens, int[] positions, int[][] tables, int[] logitRows, int exactTop, LogitAdjustment adjust,
                        int[] stateRows) {
        this(tokens, positions, tables, logitRows, exactTop, adjust, stateRows, null);
    }

    /** A batch that wants no hidden states (a generation step). */
    public ForwardBatch(int[] tokens, int[] positions, int[][] tables, int[] logitRows, int exactTop, LogitAdjustment adjust) {
        this(tokens, positions, tables, logitRows, exactTop, adjust, NONE);
    }

    /** A batch whose caller reads each logits row's {@code exactTop} largest as the model gives them. */
    public ForwardBatch(int[] tokens, int[] positions, int[][] tables, int[] logitRows, int exactTop) {
        this(tokens, positions, tables, logitRows, exactTop, null);
    }

    /** A batch whose logits are all exact. */
    public ForwardBatch(int[] tokens, int[] positions, int[][] tables, int[] logitRows) {
        this(tokens, positions, tables, logitRows, 0, null);
    }

    public int size() {
        return tokens.length;
    }

    /** All tokens of one sequence in order, logits of the last one only (or of every token). */
    public static ForwardBatch ofSequence(int[] tokens, int startPos, int[] table, boolean allLogits) {
        int n = tokens.length;
        int[] pos = new int[n];
        int[][] tables = new int[n][];
        for (int i = 0; i < n; i++) {
            pos[i] = startPos + i;
            tables[i] = table;
        }
        int[] rows;
        if (allLogits) {
            rows = new int[n];
            for (int i = 0; i < n; i++) {
                rows[i] = i;
            }
        } else {
            rows = new int[] {n - 1};
        }
        return new ForwardBatch(tokens, pos, tables, rows);
    }
}
