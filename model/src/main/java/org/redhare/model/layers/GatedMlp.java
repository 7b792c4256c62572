package org.redhare.model.layers;

import org.redhare.core.matrix.WeightMatrix;
import org.redhare.core.ops.Ops;

/** SwiGLU feed-forward: {@code down(silu(gate(x)) * up(x))}. Also one expert of a mixture. */
public final class GatedMlp implements Block {
    private final WeightMatrix gate; // [inter, hidden]
    private final WeightMatrix up;   // [inter, hidden]
    private final WeightMatrix down; // [hidden, inter]
    private final int gSlot;
    private final int uSlot;

    public GatedMlp(WeightMatrix gate, WeightMatrix up, WeightMatrix down, Workspace ws) {
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.gSlot = ws.slot("mlp.gate");
        this.uSlot = ws.slot("mlp.up");
    }

    public int intermediate() {
        return gate.rows();
    }

    @Override
    public void forward(LayerContext ctx, float[] in, float[] out) {
        forward(ctx, in, ctx.n, out);
    }

    /** Runs {@code n} rows of {@code in} (used by experts on their gathered tokens). */
    public void forward(LayerContext ctx, float[] in, int n, float[] out) {
        int inter = gate.rows();
        float[] g = ctx.workspace.get(gSlot, n * inter);
        float[] u = ctx.workspace.get(uSlot, n * inter);
        gate.multiply(ctx.pool, in, n, g);
        up.multiply(ctx.pool, in, n, u);
        Ops.siluMul(g, u, n * inter, g);
        down.multiply(ctx.pool, g, n, out);
    }

    @Override
    public long decodeBytes() {
        return gate.bytes() + up.bytes() + down.bytes();
    }

    public long parameters() {
        return 3L * gate.rows() * gate.cols();
    }
}
