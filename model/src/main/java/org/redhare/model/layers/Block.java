package org.redhare.model.layers;

/**
 * One sub-layer of a decoder layer (attention or feed-forward): reads the normalized hidden states
 * {@code in [n, hidden]} and writes its contribution to the residual stream into {@code out [n, hidden]}.
 */
public interface Block {
    void forward(LayerContext ctx, float[] in, float[] out);

    /** Weight bytes one decode token reads in this block (for bandwidth figures). */
    long decodeBytes();

    /** Parameters a token does not use (experts it did not choose); zero for dense blocks. */
    default long inactiveParameters() {
        return 0;
    }

    /**
     * Keys a query of this block reads at most, itself included (a sliding window; 0: every key before it). Such a block
     * writes and reads the KV cache through {@link org.redhare.model.ForwardBatch#windowTables}, whose blocks behind a
     * sequence's window the engine may have given back.
     */
    default int attentionWindow() {
        return 0;
    }
}
