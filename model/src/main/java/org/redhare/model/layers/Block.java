package org.redhare.model.layers;

/**
 * One sub-layer of a decoder layer (attention or feed-forward): reads the normalized hidden states
 * {@code in [n, hidden]} and writes its contribution to the residual stream into {@code out [n, hidden]}.
 */
public interface Block {
    void forward(LayerContext ctx, float[] in, float[] out);

    /** Weight bytes one decode token reads in this block (for bandwidth figures). */
    long decodeBytes();

    /** Weight bytes in total (for MoE blocks larger than what one token reads). */
    default long totalBytes() {
        return decodeBytes();
    }

    /** Parameters one token uses (active) — equal to all for dense blocks. */
    default long activeParameters() {
        return -1;
    }
}
