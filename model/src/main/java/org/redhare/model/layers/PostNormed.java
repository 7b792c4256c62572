package org.redhare.model.layers;

import org.redhare.core.ops.Ops;

/**
 * A block whose contribution is RMS-normalized before it joins the residual stream: GLM-4's
 * {@code post_self_attn_layernorm} and {@code post_mlp_layernorm} ({@code x += norm(block(norm(x)))}).
 */
public final class PostNormed implements Block {
    private final Block inner;
    private final float[] weight;
    private final float eps;

    public PostNormed(Block inner, float[] weight, float eps) {
        this.inner = inner;
        this.weight = weight;
        this.eps = eps;
    }

    @Override
    public void forward(LayerContext ctx, float[] in, float[] out) {
        inner.forward(ctx, in, out);
        Ops.rmsNorm(out, weight, eps, ctx.n, weight.length, out); // row by row, each row's sum taken before it is written
    }

    @Override
    public long decodeBytes() {
        return inner.decodeBytes();
    }

    @Override
    public long inactiveParameters() {
        return inner.inactiveParameters();
    }

    @Override
    public int attentionWindow() {
        return inner.attentionWindow();
    }
}
