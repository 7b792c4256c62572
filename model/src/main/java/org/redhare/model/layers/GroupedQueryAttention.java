package org.redhare.model.layers;

import org.redhare.core.attention.Attention;
import org.redhare.core.matrix.WeightMatrix;
import org.redhare.core.ops.Ops;
import org.redhare.core.ops.Rope;

/**
 * Multi-head attention with grouped key/value heads (Llama, Mistral, Qwen2/3, Mixtral, Gemma): optional q/k/v
 * biases (Qwen2), optional per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3), and through {@link #withScores}
 * a score scale other than {@code headDim^-0.5}, a sliding window and soft-capped scores (Gemma).
 */
public final class GroupedQueryAttention implements Block {
    private final WeightMatrix q;  // [heads * headDim, hidden], or null when qkv
    private final WeightMatrix k;  // [kvHeads * headDim, hidden], or null when qkv
    private final WeightMatrix v;  // [kvHeads * headDim, hidden], or null when qkv
    private final WeightMatrix qkv; // q, k and v stacked, [(heads + 2 kvHeads) * headDim, hidden], or null
    private final WeightMatrix o;  // [hidden, heads * headDim]
    private final float[] qBias;   // [heads * headDim] or null
    private final float[] kBias;   // [kvHeads * headDim] or null
    private final float[] vBias;   // [kvHeads * headDim] or null
    private final float[] qNorm;   // [headDim] or null
    private final float[] kNorm;   // [headDim] or null
    private final float eps;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final Rope rope;
    private final Attention attention;
    private final int qSlot;
    private final int kSlot;
    private final int vSlot;
    private final int aSlot;
    private final int qkvSlot;

    public GroupedQueryAttention(WeightMatrix q, WeightMatrix k, WeightMatrix v, WeightMatrix o, float[] qBias, float[] kBias, float[] vBias,
                                 float[] qNorm, float[] kNorm, float eps, int heads, int kvHeads, int headDim, Rope rope, Workspace ws) {
        this(q, k, v, null, o, qBias, kBias, vBias, qNorm, kNorm, eps, heads, kvHeads, headDim, rope,
                new Attention(heads, kvHeads, headDim, headDim, (float) (1.0 / Math.sqrt(headDim))), ws);
    }

    /**
     * The same attention with q, k and v as one stacked matrix ({@code qkv}: q's rows, then k's, then v's; see
     * {@code Weights#stacked}): one product of the input instead of three, with the same bits.
     */
    public static GroupedQueryAttention stacked(WeightMatrix qkv, WeightMatrix o, float[] qBias, float[] kBias, float[] vBias,
                                                float[] qNorm, float[] kNorm, float eps, int heads, int kvHeads, int headDim, Rope rope,
                                                Workspace ws) {
        if (qkv.rows() != (heads + 2 * kvHeads) * headDim) {
            throw new IllegalArgumentException("a stacked q/k/v matrix has " + (heads + 2 * kvHeads) * headDim + " rows, got " + qkv.rows());
        }
        return new GroupedQueryAttention(null, null, null, qkv, o, qBias, kBias, vBias, qNorm, kNorm, eps, heads, kvHeads, headDim, rope,
                new Attention(heads, kvHeads, headDim, headDim, (float) (1.0 / Math.sqrt(headDim))), ws);
    }

    private GroupedQueryAttention(WeightMatrix q, WeightMatrix k, WeightMatrix v, WeightMatrix qkv, WeightMatrix o, float[] qBias, float[] kBias, float[] vBias,
                                  float[] qNorm, float[] kNorm, float eps, int heads, int kvHeads, int headDim, Rope rope, Attention attention,
                                  Workspace ws) {
        this.q = q;
        this.k = k;
        this.v = v;
        this.qkv = qkv;
        this.o = o;
        this.qBias = qBias;
        this.kBias = kBias;
        this.vBias = vBias;
        this.qNorm = qNorm;
        this.kNorm = kNorm;
        this.eps = eps;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.rope = rope;
        this.attention = attention;
        this.qSlot = ws.slot("attn.q");
        this.kSlot = ws.slot("attn.k");
        this.vSlot = ws.slot("attn.v");
        this.aSlot = ws.slot("attn.out");
        this.qkvSlot = ws.slot("attn.qkv");
    }

    @Override
    public void forward(LayerContext ctx, float[] in, float[] out) {
        int n = ctx.n;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        float[] qb = ctx.workspace.get(qSlot, n * qDim);
        float[] kb = ctx.workspace.get(kSlot, n * kvDim);
        float[] vb = ctx.workspace.get(vSlot, n * kvDim);
        float[] ab = ctx.workspace.get(aSlot, n * qDim);
        if (qkv != null) {
            int width = qDim + 2 * kvDim;
            float[] all = ctx.workspace.get(qkvSlot, n * width);
            qkv.multiply(ctx.pool, in, n, all);
            for (int t = 0; t < n; t++) {
                System.arraycopy(all, t * width, qb, t * qDim, qDim);
                System.arraycopy(all, t * width + qDim, kb, t * kvDim, kvDim);
                System.arraycopy(all, t * width + qDim + kvDim, vb, t * kvDim, kvDim);
            }
        } else {
            q.multiply(ctx.pool, in, n, qb);
            k.multiply(ctx.pool, in, n, kb);
            v.multiply(ctx.pool, in, n, vb);
        }
        if (qBias != null) {
            Ops.addBias(qb, qBias, n, qDim);
        }
        if (kBias != null) {
            Ops.addBias(kb, kBias, n, kvDim);
        }
        if (vBias != null) {
            Ops.addBias(vb, vBias, n, kvDim);
        }
        float[][] cs = ctx.angles(rope);
        int half = rope.rotaryDim() / 2;
        boolean windowed = attention.window() > 0; // its cache rows through the window tables (ForwardBatch)
        int[] slots = windowed ? ctx.windowSlots() : ctx.slots;
        for (int t = 0; t < n; t++) {
            if (qNorm != null) {
                for (int h = 0; h < heads; h++) {
                    Ops.rmsNormRow(qb, t * qDim + h * headDim, qNorm, eps, headDim, qb, t * qDim + h * headDim);
                }
            }
            if (kNorm != null) {
                for (int h = 0; h < kvHeads; h++) {
                    Ops.rmsNormRow(kb, t * kvDim + h * headDim, kNorm, eps, headDim, kb, t * kvDim + h * headDim);
                }
            }
            rope.apply(qb, t * qDim, heads, headDim, cs[0], cs[1], t * half);
            rope.apply(kb, t * kvDim, kvHeads, headDim, cs[0], cs[1], t * half);
            ctx.cache.write(ctx.layer, slots[t], kb, t * kvDim, vb, t * kvDim);
        }
        attention.forward(ctx.pool, ctx.cache, ctx.layer, qb, n, windowed ? ctx.batch.windowTables() : ctx.batch.tables(),
                ctx.batch.positions(), ab);
        o.multiply(ctx.pool, ab, n, out);
    }

    /**
     * The same attention (weights, norms, RoPE; workspace slots by name) with scores {@code q.k * scale}, each query
     * seeing only its {@code window} last keys (0: all) and scores soft-capped at {@code softcap} (0: not).
     */
    public GroupedQueryAttention withScores(float scale, int window, float softcap, Workspace ws) {
        return new GroupedQueryAttention(q, k, v, qkv, o, qBias, kBias, vBias, qNorm, kNorm, eps, heads, kvHeads, headDim, rope,
                new Attention(heads, kvHeads, headDim, headDim, scale, window, softcap), ws);
    }

    @Override
    public int attentionWindow() {
        return attention.window();
    }

    public int kvWidth() {
        return kvHeads * headDim;
    }

    @Override
    public long decodeBytes() {
        return (qkv != null ? qkv.bytes() : q.bytes() + k.bytes() + v.bytes()) + o.bytes();
    }
}
