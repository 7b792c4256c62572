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
    private final int allSlot;
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
        this.allSlot = ws.slot("moe.all");
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
        int active = 0;
        for (int x = 0; x < e; x++) {
            maxRows = Math.max(maxRows, counts[x]);
            active += counts[x] > 0 ? 1 : 0;
        }
        // Every chosen expert's output rows, [n * k, hidden] in bucket order, when the experts run one per worker.
        float[] all = ctx.pool.threads() > 1 && active >= 2 * ctx.pool.threads() && maxRows <= APART_MAX_ROWS
                ? expertsApart(ctx, in, k, start, active) : null;
        float[] xb = ctx.workspace.get(xSlot, Math.max(1, maxRows) * hidden);
        float[] yb = ctx.workspace.get(ySlot, Math.max(1, maxRows) * hidden);
        for (int x = 0; x < e; x++) {
            int m = counts[x];
            if (m == 0) {
                continue;
            }
            float[] ys = yb;
            int y0 = 0;
            if (all == null) {
                for (int r = 0; r < m; r++) {
                    int token = order[start[x] + r] / k;
                    System.arraycopy(in, token * hidden, xb, r * hidden, hidden);
                }
                experts[x].forward(ctx, xb, m, yb);
            } else {
                ys = all;
                y0 = start[x] * hidden;
            }
            for (int r = 0; r < m; r++) {
                int pair = order[start[x] + r];
                int token = pair / k;
                float w = weights[pair];
                int o = token * hidden;
                int y = y0 + r * hidden;
                for (int c = 0; c < hidden; c++) {
                    out[o + c] += w * ys[y + c];
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

    /**
     * Most rows any expert may have for the experts to run one per worker ({@link #expertsApart}); past it, a few experts
     * chosen by many tokens (a long prompt's) would leave the other workers idle, and each expert's own products
     * split well over the threads anyway.
     */
    private static final int APART_MAX_ROWS = 16;

    private Workspace[] spaces = new Workspace[0]; // each worker's buffers for expertsApart
    private int[] chosen = new int[0];

    /**
     * The chosen experts each run whole by one worker, on that worker's one-thread pool ({@link
     * org.redhare.core.Parallel#alone}): a decoded token's eight experts are eight small products apiece (Qwen3-30B-A3B:
     * [1536 x 2048] gate and up, [2048 x 768] down), and splitting each over the threads cost a hand-off and a wait per
     * product. Each expert computes every row as it would on the whole pool (the kernels' rows do not depend on how a
     * matrix is split), and the caller adds the outputs up in the same order, so the bits are those of the other path.
     * Returns the outputs, [n * k, hidden], rows in bucket order ({@code start}).
     */
    private float[] expertsApart(LayerContext ctx, float[] in, int k, int[] start, int active) {
        int threads = ctx.pool.threads();
        if (spaces.length < threads) {
            spaces = new Workspace[threads];
            for (int i = 0; i < threads; i++) {
                spaces[i] = new Workspace();
            }
        }
        if (chosen.length < active) {
            chosen = new int[active];
        }
        for (int x = 0, i = 0; x < experts.length; x++) {
            if (counts[x] > 0) {
                chosen[i++] = x;
            }
        }
        float[] all = ctx.workspace.get(allSlot, start[experts.length] * hidden);
        for (int w = 0; w < threads; w++) {
            ctx.pool.alone(w); // created here, outside the job
        }
        ctx.pool.forRange(active, 1, (i0, i1, w) -> {
            Workspace ws = spaces[w];
            LayerContext one = ctx.on(ctx.pool.alone(w), ws);
            for (int i = i0; i < i1; i++) {
                int x = chosen[i];
                int m = counts[x];
                float[] xb = ws.get(xSlot, m * hidden);
                float[] yb = ws.get(ySlot, m * hidden);
                for (int r = 0; r < m; r++) {
                    System.arraycopy(in, order[start[x] + r] / k * hidden, xb, r * hidden, hidden);
                }
                experts[x].forward(one, xb, m, yb);
                System.arraycopy(yb, 0, all, start[x] * hidden, m * hidden);
            }
        });
        return all;
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
