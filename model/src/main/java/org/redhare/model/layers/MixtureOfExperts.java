package org.redhare.model.layers;

import java.util.Arrays;
import org.redhare.core.matrix.WeightMatrix;

/**
 * A sparse mixture of SwiGLU experts with optional shared experts. For a batch, tokens are grouped by
 * expert and each chosen expert runs once over all its tokens (batched kernels); experts no token chose
 * are not touched, so their weights are never read.
 */
public final class MixtureOfExperts implements Block {
    private final WeightMatrix gate;     // router [experts, hidden]
    private final Router router;
    private final GatedMlp[] experts;
    private final GatedMlp shared;       // shared experts fused as one MLP, or null
    private final WeightMatrix sharedGate; // [1, hidden] sigmoid gate on the shared expert (Qwen2-MoE), or null
    private final int hidden;
    private final int logitSlot;
    private final int xSlot;
    private final int ySlot;
    private final int sharedSlot;
    private final int scratchSlot;
    // Routing results of the last batch, reused.
    private int[] ids = new int[0];
    private float[] weights = new float[0];
    private int[] counts;
    private int[] order = new int[0];

    public MixtureOfExperts(WeightMatrix gate, Router router, GatedMlp[] experts, GatedMlp shared, WeightMatrix sharedGate, Workspace ws) {
        this.gate = gate;
        this.router = router;
        this.experts = experts;
        this.shared = shared;
        this.sharedGate = sharedGate;
        this.hidden = gate.cols();
        this.logitSlot = ws.slot("moe.logits");
        this.xSlot = ws.slot("moe.x");
        this.ySlot = ws.slot("moe.y");
        this.sharedSlot = ws.slot("moe.shared");
        this.scratchSlot = ws.slot("moe.scratch");
        this.counts = new int[experts.length];
    }

    @Override
    public void forward(LayerContext ctx, float[] in, float[] out) {
        int n = ctx.n;
        int e = experts.length;
        int k = router.topK();
        float[] logits = ctx.workspace.get(logitSlot, n * e);
        gate.multiply(ctx.pool, in, n, logits);
        if (ids.length < n * k) {
            ids = new int[n * k];
            weights = new float[n * k];
            order = new int[n * k];
        }
        float[] scratch = ctx.workspace.get(scratchSlot, 2 * e);
        Arrays.fill(counts, 0);
        for (int t = 0; t < n; t++) {
            router.route(logits, t * e, ids, t * k, weights, t * k, scratch);
            for (int j = 0; j < k; j++) {
                counts[ids[t * k + j]]++;
            }
        }
        // Bucket (token, slot) pairs by expert: start offsets, then fill.
        int[] start = new int[e + 1];
        for (int x = 0; x < e; x++) {
            start[x + 1] = start[x] + counts[x];
        }
        int[] fill = Arrays.copyOf(start, e);
        for (int i = 0; i < n * k; i++) {
            order[fill[ids[i]]++] = i;
        }
        Arrays.fill(out, 0, n * hidden, 0f);
        int maxRows = 0;
        for (int x = 0; x < e; x++) {
            maxRows = Math.max(maxRows, counts[x]);
        }
        float[] xb = ctx.workspace.get(xSlot, Math.max(1, maxRows) * hidden);
        float[] yb = ctx.workspace.get(ySlot, Math.max(1, maxRows) * hidden);
        for (int x = 0; x < e; x++) {
            int m = counts[x];
            if (m == 0) {
                continue;
            }
            for (int r = 0; r < m; r++) {
                int token = order[start[x] + r] / k;
                System.arraycopy(in, token * hidden, xb, r * hidden, hidden);
            }
            experts[x].forward(ctx, xb, m, yb);
            for (int r = 0; r < m; r++) {
                int pair = order[start[x] + r];
                int token = pair / k;
                float w = weights[pair];
                int o = token * hidden;
                int y = r * hidden;
                for (int c = 0; c < hidden; c++) {
                    out[o + c] += w * yb[y + c];
                }
            }
        }
        if (shared != null) {
            float[] sb = ctx.workspace.get(sharedSlot, n * hidden);
            shared.forward(ctx, in, n, sb);
            float[] g = null;
            if (sharedGate != null) {
                g = new float[n];
                sharedGate.multiply(ctx.pool, in, n, g);
            }
            for (int t = 0; t < n; t++) {
                float w = g == null ? 1f : (float) (1.0 / (1.0 + Math.exp(-g[t])));
                for (int c = 0; c < hidden; c++) {
                    out[t * hidden + c] += w * sb[t * hidden + c];
                }
            }
        }
    }

    @Override
    public long decodeBytes() {
        // One token reads the router, its k experts and the shared experts.
        long perExpert = experts[0].decodeBytes();
        return gate.bytes() + router.topK() * perExpert + (shared == null ? 0 : shared.decodeBytes())
                + (sharedGate == null ? 0 : sharedGate.bytes());
    }

    @Override
    public long inactiveParameters() {
        return (long) (experts.length - router.topK()) * experts[0].parameters();
    }

    /** Experts each token chose in the last forward pass ({@code [n, k]}), for tests and metrics. */
    public int[] lastRouting(int n) {
        return Arrays.copyOf(ids, n * router.topK());
    }
}
