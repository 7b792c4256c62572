package org.redhare.model.layers;

import java.util.Arrays;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.matrix.WeightMatrix;
import org.redhare.core.ops.Ops;
import org.redhare.core.ops.Rope;

/**
 * DeepSeek's multi-head latent attention. The KV cache keeps per token only the normalized latent
 * {@code c [kvLoraRank]} and the rotated shared key part {@code k_pe [ropeDim]}: {@code kvLoraRank + ropeDim}
 * floats per layer instead of {@code 2 * heads * headDim}.
 *
 * <p>{@link Mode#ABSORBED} (decode): {@code kv_b_proj} is folded into the query and output side, so past
 * tokens are never re-expanded: {@code score = (W_uk_h^T q_nope_h) . c_s + q_pe_h . k_pe_s}, then
 * {@code out_h = W_uv_h (sum_s p_s c_s)}. {@link Mode#EXPANDED} (prompts) rebuilds per-head keys and
 * values from the latents and runs ordinary attention. Both give the reference's numbers.
 */
public final class MultiHeadLatentAttention implements Block {
    public enum Mode { ABSORBED, EXPANDED, AUTO }

    private final WeightMatrix qA;    // [qLora, hidden] or null (then qFull)
    private final float[] qANorm;     // [qLora]
    private final WeightMatrix qB;    // [heads * (nope + rope), qLora]
    private final WeightMatrix qFull; // [heads * (nope + rope), hidden] when q_lora_rank is null
    private final WeightMatrix kvA;   // [kvLora + rope, hidden]
    private final float[] kvANorm;    // [kvLora]
    private final float[] kvB;        // [heads * (nope + v), kvLora], widened once (small; used per head)
    private final WeightMatrix o;     // [hidden, heads * v]
    private final int heads;
    private final int nope;
    private final int ropeDim;
    private final int vDim;
    private final int kvLora;
    private final float eps;
    private final float scale;
    private final Rope rope;
    private final Mode mode;
    private final int qaSlot;
    private final int qSlot;
    private final int kvSlot;
    private final int outSlot;
    private float[][] scores = new float[0][];
    private float[][] rows = new float[0][];

    public MultiHeadLatentAttention(WeightMatrix qA, float[] qANorm, WeightMatrix qB, WeightMatrix qFull, WeightMatrix kvA, float[] kvANorm,
                                    WeightMatrix kvB, WeightMatrix o, int heads, int nope, int ropeDim, int vDim, int kvLora, float eps,
                                    float scale, Rope rope, Mode mode, Workspace ws) {
        this.qA = qA;
        this.qANorm = qANorm;
        this.qB = qB;
        this.qFull = qFull;
        this.kvA = kvA;
        this.kvANorm = kvANorm;
        this.o = o;
        this.heads = heads;
        this.nope = nope;
        this.ropeDim = ropeDim;
        this.vDim = vDim;
        this.kvLora = kvLora;
        this.eps = eps;
        this.scale = scale;
        this.rope = rope;
        this.mode = mode;
        this.kvB = new float[kvB.rows() * kvB.cols()];
        for (int r = 0; r < kvB.rows(); r++) {
            kvB.row(r, this.kvB, r * kvB.cols());
        }
        this.qaSlot = ws.slot("mla.qa");
        this.qSlot = ws.slot("mla.q");
        this.kvSlot = ws.slot("mla.kv");
        this.outSlot = ws.slot("mla.out");
    }

    /** Floats per token in the cache (all of it keys: the latent then the rotated rope key). */
    public int cacheWidth() {
        return kvLora + ropeDim;
    }

    @Override
    public void forward(LayerContext ctx, float[] in, float[] out) {
        int n = ctx.n;
        int qHead = nope + ropeDim;
        int qDim = heads * qHead;
        float[] q = ctx.workspace.get(qSlot, n * qDim);
        if (qA != null) {
            float[] qa = ctx.workspace.get(qaSlot, n * qA.rows());
            qA.multiply(ctx.pool, in, n, qa);
            Ops.rmsNorm(qa, qANorm, eps, n, qA.rows(), qa);
            qB.multiply(ctx.pool, qa, n, q);
        } else {
            qFull.multiply(ctx.pool, in, n, q);
        }
        int kvw = kvLora + ropeDim;
        float[] kv = ctx.workspace.get(kvSlot, n * kvw);
        kvA.multiply(ctx.pool, in, n, kv);
        float[][] cs = ctx.angles(rope);
        int half = ropeDim / 2;
        for (int t = 0; t < n; t++) {
            Ops.rmsNormRow(kv, t * kvw, kvANorm, eps, kvLora, kv, t * kvw);
            rope.apply(kv, t * kvw + kvLora, 1, ropeDim, cs[0], cs[1], t * half);
            for (int h = 0; h < heads; h++) {
                rope.apply(q, t * qDim + h * qHead + nope, 1, ropeDim, cs[0], cs[1], t * half);
            }
            ctx.cache.write(ctx.layer, ctx.slots[t], kv, t * kvw, null, 0);
        }
        float[] attn = ctx.workspace.get(outSlot, n * heads * vDim);
        boolean expanded = mode == Mode.EXPANDED || (mode == Mode.AUTO && n > 1);
        int maxCtx = 0;
        for (int t = 0; t < n; t++) {
            maxCtx = Math.max(maxCtx, ctx.batch.positions()[t] + 1);
        }
        ensureScratch(ctx.pool.threads(), maxCtx, expanded);
        if (expanded) {
            expandedAttention(ctx, q, attn, maxCtx);
        } else {
            ctx.pool.forRange(n * heads, 1, (s, e, w) -> {
                for (int task = s; task < e; task++) {
                    absorbedHead(ctx, q, task / heads, task % heads, attn, scores[w], rows[w]);
                }
            });
        }
        o.multiply(ctx.pool, attn, n, out);
    }

    private void ensureScratch(int threads, int maxCtx, boolean expanded) {
        int rowLen = Math.max(kvLora + ropeDim, nope + ropeDim) + kvLora;
        if (scores.length < threads || scores[0].length < maxCtx || rows[0].length < rowLen) {
            scores = new float[threads][Math.max(64, maxCtx * 5 / 4)];
            rows = new float[threads][rowLen + kvLora];
        }
    }

    /** One (token, head) in absorbed form. */
    private void absorbedHead(LayerContext ctx, float[] q, int t, int h, float[] attn, float[] sc, float[] row) {
        PagedKvCache cache = ctx.cache;
        int qHead = nope + ropeDim;
        int qOff = t * heads * qHead + h * qHead;
        int kvw = kvLora + ropeDim;
        // qcat = [W_uk_h^T q_nope (kvLora) | q_pe (rope)] in row[0 .. kvw)
        Arrays.fill(row, 0, kvLora, 0f);
        int wBase = h * (nope + vDim) * kvLora;
        for (int d = 0; d < nope; d++) {
            Ops.axpy(q[qOff + d], kvB, wBase + d * kvLora, row, 0, kvLora);
        }
        System.arraycopy(q, qOff + nope, row, kvLora, ropeDim);
        int pos = ctx.batch.positions()[t];
        int[] table = ctx.batch.tables()[t];
        float[] tmp = ctx.workspace == null ? null : row; // conversion row for 16-bit caches lives after kvw
        for (int s = 0; s <= pos; s++) {
            sc[s] = dotKey(cache, ctx.layer, cache.slotOf(table, s), row, kvw) * scale;
        }
        Ops.softmax(sc, 0, pos + 1);
        // latent = sum_s p_s c_s, kept in row[kvw .. kvw + kvLora)
        Arrays.fill(row, kvw, kvw + kvLora, 0f);
        for (int s = 0; s <= pos; s++) {
            cache.accumulateKey(ctx.layer, cache.slotOf(table, s), 0, sc[s], row, kvw, kvLora, convRow(kvLora));
        }
        int oOff = t * heads * vDim + h * vDim;
        for (int j = 0; j < vDim; j++) {
            attn[oOff + j] = Ops.dot(kvB, wBase + (nope + j) * kvLora, row, kvw, kvLora);
        }
    }

    private final ThreadLocal<float[]> conv = ThreadLocal.withInitial(() -> new float[0]);

    private float[] convRow(int len) {
        float[] c = conv.get();
        if (c.length < len) {
            c = new float[len];
            conv.set(c);
        }
        return c;
    }

    private float dotKey(PagedKvCache cache, int layer, int slot, float[] qcat, int len) {
        return cache.dotKey(layer, slot, 0, qcat, 0, len, convRow(len));
    }

    /** Expanded form: rebuild keys and values of each sequence's context from the latents, then plain attention. */
    private void expandedAttention(LayerContext ctx, float[] q, float[] attn, int maxCtx) {
        int n = ctx.n;
        int qHead = nope + ropeDim;
        int kvw = kvLora + ropeDim;
        // Tokens of one sequence share a block table; expand once per distinct table.
        java.util.IdentityHashMap<int[], float[][]> expandedBySeq = new java.util.IdentityHashMap<>();
        for (int t = 0; t < n; t++) {
            int[] table = ctx.batch.tables()[t];
            int len = 0;
            for (int u = 0; u < n; u++) {
                if (ctx.batch.tables()[u] == table) {
                    len = Math.max(len, ctx.batch.positions()[u] + 1);
                }
            }
            final int ctxLen = len;
            expandedBySeq.computeIfAbsent(table, tb -> {
                float[] keys = new float[ctxLen * heads * qHead];   // [s, h, nope + rope]
                float[] values = new float[ctxLen * heads * vDim];  // [s, h, v]
                ctx.pool.forRange(ctxLen, 4, (s0, s1, w) -> {
                    float[] lat = new float[kvw];
                    for (int s = s0; s < s1; s++) {
                        ctx.cache.readKey(ctx.layer, ctx.cache.slotOf(tb, s), 0, kvw, lat, 0);
                        for (int h = 0; h < heads; h++) {
                            int wBase = h * (nope + vDim) * kvLora;
                            int kOff = (s * heads + h) * qHead;
                            for (int d = 0; d < nope; d++) {
                                keys[kOff + d] = Ops.dot(kvB, wBase + d * kvLora, lat, 0, kvLora);
                            }
                            System.arraycopy(lat, kvLora, keys, kOff + nope, ropeDim);
                            for (int j = 0; j < vDim; j++) {
                                values[(s * heads + h) * vDim + j] = Ops.dot(kvB, wBase + (nope + j) * kvLora, lat, 0, kvLora);
                            }
                        }
                    }
                });
                return new float[][] {keys, values};
            });
        }
        ctx.pool.forRange(n * heads, 1, (s0, s1, w) -> {
            float[] sc = scores[w];
            for (int task = s0; task < s1; task++) {
                int t = task / heads;
                int h = task % heads;
                float[][] kvx = expandedBySeq.get(ctx.batch.tables()[t]);
                int pos = ctx.batch.positions()[t];
                int qOff = t * heads * qHead + h * qHead;
                for (int s = 0; s <= pos; s++) {
                    sc[s] = Ops.dot(q, qOff, kvx[0], (s * heads + h) * qHead, qHead) * scale;
                }
                Ops.softmax(sc, 0, pos + 1);
                int oOff = t * heads * vDim + h * vDim;
                Arrays.fill(attn, oOff, oOff + vDim, 0f);
                for (int s = 0; s <= pos; s++) {
                    Ops.axpy(sc[s], kvx[1], (s * heads + h) * vDim, attn, oOff, vDim);
                }
            }
        });
    }

    @Override
    public long decodeBytes() {
        long b = kvA.bytes() + o.bytes() + (long) kvB.length * 4;
        return b + (qA != null ? qA.bytes() + qB.bytes() : qFull.bytes());
    }
}
