package org.redhare.model.layers;

import org.redhare.core.matrix.WeightMatrix;
import org.redhare.core.ops.Ops;

/**
 * Gated feed-forward: {@code down(act(gate(x)) * up(x))}, with SiLU (SwiGLU: Llama, Qwen, Mistral, GLM, DeepSeek) or
 * the tanh-approximated GELU (GeGLU: Gemma, {@link #withGelu}). Also one expert of a mixture. The gate and up projections
 * are two matrices, or one fused {@code [2 * inter, hidden]} matrix whose first half of rows is the gate (GLM's
 * {@code gate_up_proj}), computed in one pass.
 */
public final class GatedMlp implements Block {
    private final WeightMatrix gate;   // [inter, hidden], or null when fused
    private final WeightMatrix up;     // [inter, hidden], or null when fused
    private final WeightMatrix gateUp; // [2 * inter, hidden] when fused, else null
    private final WeightMatrix down;   // [hidden, inter]
    private final int inter;
    private final boolean gelu;        // GeGLU (tanh GELU) instead of SwiGLU
    private final int gSlot;
    private final int uSlot;

    public GatedMlp(WeightMatrix gate, WeightMatrix up, WeightMatrix down, Workspace ws) {
        this(gate, up, null, down, false, ws);
    }

    /** The fused form: {@code gateUp}'s rows {@code [0, inter)} are the gate, {@code [inter, 2 * inter)} the up projection. */
    public static GatedMlp fused(WeightMatrix gateUp, WeightMatrix down, Workspace ws) {
        if (gateUp.rows() != 2 * down.cols()) {
            throw new IllegalArgumentException("a fused gate/up matrix has 2 x " + down.cols() + " rows, got " + gateUp.rows());
        }
        return new GatedMlp(null, null, gateUp, down, false, ws);
    }

    /** The same projections with the tanh-approximated GELU ({@code gelu_pytorch_tanh}) as the gate's activation. */
    public GatedMlp withGelu(Workspace ws) {
        return new GatedMlp(gate, up, gateUp, down, true, ws);
    }

    private GatedMlp(WeightMatrix gate, WeightMatrix up, WeightMatrix gateUp, WeightMatrix down, boolean gelu, Workspace ws) {
        this.gelu = gelu;
        this.gate = gate;
        this.up = up;
        this.gateUp = gateUp;
        this.down = down;
        this.inter = down.cols();
        this.gSlot = ws.slot("mlp.gate");
        this.uSlot = ws.slot("mlp.up");
    }

    public int intermediate() {
        return inter;
    }

    @Override
    public void forward(LayerContext ctx, float[] in, float[] out) {
        forward(ctx, in, ctx.n, out);
    }

    /** Runs {@code n} rows of {@code in} (used by experts on their gathered tokens). */
    public void forward(LayerContext ctx, float[] in, int n, float[] out) {
        if (gateUp != null) {
            float[] gu = ctx.workspace.get(uSlot, n * 2 * inter);
            float[] g = ctx.workspace.get(gSlot, n * inter);
            gateUp.multiply(ctx.pool, in, n, gu);
            // Tokens over the threads: a 16-user step's activations were 2% of its time on the engine thread alone.
            ctx.pool.forRange(n, 1, (t0, t1, w) -> {
                for (int t = t0; t < t1; t++) {
                    if (gelu) {
                        Ops.geluTanhMul(gu, t * 2 * inter, gu, t * 2 * inter + inter, inter, g, t * inter);
                    } else {
                        Ops.siluMul(gu, t * 2 * inter, gu, t * 2 * inter + inter, inter, g, t * inter);
                    }
                }
            });
            down.multiply(ctx.pool, g, n, out);
            return;
        }
        float[] g = ctx.workspace.get(gSlot, n * inter);
        float[] u = ctx.workspace.get(uSlot, n * inter);
        gate.multiply(ctx.pool, in, n, g);
        up.multiply(ctx.pool, in, n, u);
        if (gelu) {
            Ops.geluTanhMul(g, 0, u, 0, n * inter, g, 0);
        } else {
            Ops.siluMul(g, u, n * inter, g);
        }
        down.multiply(ctx.pool, g, n, out);
    }

    @Override
    public long decodeBytes() {
        return (gateUp != null ? gateUp.bytes() : gate.bytes() + up.bytes()) + down.bytes();
    }

    public long parameters() {
        return 3L * inter * down.rows();
    }
}
