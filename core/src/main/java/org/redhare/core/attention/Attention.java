package org.redhare.core.attention;

import java.util.Arrays;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Ops;

/**
 * Causal multi-head attention with grouped KV heads over a {@link PagedKvCache}. Each token of a batch
 * attends to positions {@code 0..positions[t]} of its own sequence (block table {@code tables[t]});
 * its own key/value must already be written. Work is split over (token, kv head) pairs so the keys and
 * values of a group are read once for all the query heads that share them.
 */
public final class Attention {
    private final int heads;
    private final int kvHeads;
    private final int headDim;  // query/key dims per head
    private final int vHeadDim; // value dims per head
    private final float scale;
    private float[][] scores = new float[0][];
    private float[][] rows = new float[0][];

    public Attention(int heads, int kvHeads, int headDim, int vHeadDim, float scale) {
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("attention heads (" + heads + ") must be a multiple of kv heads (" + kvHeads + ")");
        }
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.vHeadDim = vHeadDim;
        this.scale = scale;
    }

    /**
     * @param q      queries {@code [n, heads * headDim]}
     * @param out    results {@code [n, heads * vHeadDim]}
     * @param tables block table of each token's sequence
     * @param positions position of each token in its sequence
     */
    public void forward(Parallel pool, PagedKvCache cache, int layer, float[] q, int n, int[][] tables, int[] positions, float[] out) {
        int maxCtx = 0;
        for (int t = 0; t < n; t++) {
            maxCtx = Math.max(maxCtx, positions[t] + 1);
        }
        int group = heads / kvHeads;
        int need = group * maxCtx;
        if (scores.length < pool.threads() || scores[0].length < need) {
            float[][] s = new float[pool.threads()][];
            float[][] r = new float[pool.threads()][];
            for (int i = 0; i < s.length; i++) {
                s[i] = new float[Math.max(need, 64) * 5 / 4];
                r[i] = new float[Math.max(headDim, vHeadDim)];
            }
            scores = s;
            rows = r;
        }
        final float[][] sc = scores;
        final float[][] rw = rows;
        pool.forRange(n * kvHeads, 1, (start, end, worker) -> {
            for (int task = start; task < end; task++) {
                attendGroup(cache, layer, q, task / kvHeads, task % kvHeads, tables, positions, out, sc[worker], rw[worker]);
            }
        });
    }

    private void attendGroup(PagedKvCache cache, int layer, float[] q, int t, int g, int[][] tables, int[] positions,
                             float[] out, float[] buf, float[] row) {
        int group = heads / kvHeads;
        int ctx = positions[t] + 1;
        int[] table = tables[t];
        int qWidth = heads * headDim;
        int oWidth = heads * vHeadDim;
        for (int j = 0; j < ctx; j++) {
            int slot = cache.slotOf(table, j);
            for (int hh = 0; hh < group; hh++) {
                int h = g * group + hh;
                buf[hh * ctx + j] = cache.dotKey(layer, slot, g * headDim, q, t * qWidth + h * headDim, headDim, row) * scale;
            }
        }
        for (int hh = 0; hh < group; hh++) {
            Ops.softmax(buf, hh * ctx, ctx);
            int h = g * group + hh;
            Arrays.fill(out, t * oWidth + h * vHeadDim, t * oWidth + (h + 1) * vHeadDim, 0f);
        }
        for (int j = 0; j < ctx; j++) {
            int slot = cache.slotOf(table, j);
            for (int hh = 0; hh < group; hh++) {
                int h = g * group + hh;
                cache.accumulateValue(layer, slot, g * vHeadDim, buf[hh * ctx + j], out, t * oWidth + h * vHeadDim, vHeadDim, row);
            }
        }
    }
}
