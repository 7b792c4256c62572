package org.redhare.core.attention;

import org.redhare.core.ops.VectorMath;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Ops;

/**
 * Causal multi-head attention with grouped KV heads over a {@link PagedKvCache}. Each token of a batch
 * attends to positions {@code 0..positions[t]} of its own sequence (block table {@code tables[t]});
 * its own key/value must already be written. Work is split over (token, kv head) pairs so the keys and
 * values of a group are read once for all the query heads that share them.
 */
public final class Attention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

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
                r[i] = new float[Math.max(Math.max(headDim, vHeadDim), 17 * F.length())];
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
        int qBase = t * qWidth + g * group * headDim;
        int oBase = t * oWidth + g * group * vHeadDim;
        if (cache.dtype() == KvDtype.F32) {
            scoresF32(cache.keySegment(layer), cache, table, ctx, q, qBase, group, buf, g, row);
        } else {
            for (int j = 0; j < ctx; j++) {
                int slot = cache.slotOf(table, j);
                for (int hh = 0; hh < group; hh++) {
                    buf[hh * ctx + j] = cache.dotKey(layer, slot, g * headDim, q, qBase + hh * headDim, headDim, row) * scale;
                }
            }
        }
        for (int hh = 0; hh < group; hh++) {
            Ops.softmax(buf, hh * ctx, ctx);
        }
        Arrays.fill(out, oBase, oBase + group * vHeadDim, 0f);
        if (cache.dtype() == KvDtype.F32) {
            valuesF32(cache.valueSegment(layer), cache, table, ctx, out, oBase, group, buf, g);
        } else {
            for (int j = 0; j < ctx; j++) {
                int slot = cache.slotOf(table, j);
                for (int hh = 0; hh < group; hh++) {
                    cache.accumulateValue(layer, slot, g * vHeadDim, buf[hh * ctx + j], out, oBase + hh * vHeadDim, vHeadDim, row);
                }
            }
        }
    }

    /** Scores of every query head of group g against each cached key: the key row is read once for the whole group. */
    private void scoresF32(MemorySegment keys, PagedKvCache cache, int[] table, int ctx, float[] q, int qBase, int group, float[] buf, int g, float[] tmp) {
        int L = F.length();
        int vec = headDim / L * L;
        long rowBytes = (long) cache.kWidth() * 4;
        int bs = cache.blockSize();
        int kvCol = g * headDim;
        int j = 0;
        // Sixteen keys at a time: their sixteen accumulators are stored and their lane sums taken by one
        // transposed reduction (VectorMath.sum16, the same bits as sixteen VectorMath.sum).
        for (; j + 16 <= ctx; j += 16) {
            for (int hh = 0; hh < group; hh++) {
                int qo = qBase + hh * headDim;
                for (int kk = 0; kk < 16; kk++) {
                    long base = ((long) table[(j + kk) / bs] * bs + (j + kk) % bs) * rowBytes + kvCol * 4L;
                    FloatVector acc = FloatVector.zero(F);
                    for (int i = 0; i < vec; i += L) {
                        acc = FloatVector.fromMemorySegment(F, keys, base + i * 4L, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.fromArray(F, q, qo + i), acc);
                    }
                    acc.intoArray(tmp, kk * L);
                }
                VectorMath.sum16(tmp, 0, tmp, 16 * L);
                for (int kk = 0; kk < 16; kk++) {
                    float s = tmp[16 * L + kk];
                    long base = ((long) table[(j + kk) / bs] * bs + (j + kk) % bs) * rowBytes + kvCol * 4L;
                    for (int i = vec; i < headDim; i++) {
                        s += keys.get(FLOAT, base + i * 4L) * q[qo + i];
                    }
                    buf[hh * ctx + j + kk] = s * scale;
                }
            }
        }
        for (; j < ctx; j++) {
            long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + kvCol * 4L;
            for (int hh = 0; hh < group; hh++) {
                int qo = qBase + hh * headDim;
                FloatVector acc = FloatVector.zero(F);
                int i = 0;
                for (; i < vec; i += L) {
                    acc = FloatVector.fromMemorySegment(F, keys, base + i * 4L, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.fromArray(F, q, qo + i), acc);
                }
                float s = VectorMath.sum(acc);
                for (; i < headDim; i++) {
                    s += keys.get(FLOAT, base + i * 4L) * q[qo + i];
                }
                buf[hh * ctx + j] = s * scale;
            }
        }
    }

    /** {@code out_h += p_h[j] * v_j} for every head of group g; the value row is read once for the group. */
    private void valuesF32(MemorySegment values, PagedKvCache cache, int[] table, int ctx, float[] out, int oBase, int group, float[] buf, int g) {
        int L = F.length();
        int vec = vHeadDim / L * L;
        long rowBytes = (long) cache.vWidth() * 4;
        int bs = cache.blockSize();
        int col = g * vHeadDim;
        // Per head, up to four output vectors stay in registers over all keys: the same FMAs in the same
        // (key) order as updating the output row key by key, without a load and a store per key.
        for (int hh = 0; hh < group; hh++) {
            int ob = oBase + hh * vHeadDim;
            int pb = hh * ctx;
            int i = 0;
            for (; i + 4 * L <= vec; i += 4 * L) {
                FloatVector a0 = FloatVector.fromArray(F, out, ob + i);
                FloatVector a1 = FloatVector.fromArray(F, out, ob + i + L);
                FloatVector a2 = FloatVector.fromArray(F, out, ob + i + 2 * L);
                FloatVector a3 = FloatVector.fromArray(F, out, ob + i + 3 * L);
                for (int j = 0; j < ctx; j++) {
                    long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + (col + i) * 4L;
                    FloatVector p = FloatVector.broadcast(F, buf[pb + j]);
                    a0 = FloatVector.fromMemorySegment(F, values, base, ByteOrder.LITTLE_ENDIAN).fma(p, a0);
                    a1 = FloatVector.fromMemorySegment(F, values, base + 4L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a1);
                    a2 = FloatVector.fromMemorySegment(F, values, base + 8L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a2);
                    a3 = FloatVector.fromMemorySegment(F, values, base + 12L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a3);
                }
                a0.intoArray(out, ob + i);
                a1.intoArray(out, ob + i + L);
                a2.intoArray(out, ob + i + 2 * L);
                a3.intoArray(out, ob + i + 3 * L);
            }
            for (; i < vec; i += L) {
                FloatVector a0 = FloatVector.fromArray(F, out, ob + i);
                for (int j = 0; j < ctx; j++) {
                    long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + (col + i) * 4L;
                    a0 = FloatVector.fromMemorySegment(F, values, base, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.broadcast(F, buf[pb + j]), a0);
                }
                a0.intoArray(out, ob + i);
            }
        }
        for (int j = 0; j < ctx; j++) {
            long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + col * 4L;
            int i = vec;
            for (; i < vHeadDim; i++) {
                float v = values.get(FLOAT, base + i * 4L);
                for (int hh = 0; hh < group; hh++) {
                    out[oBase + hh * vHeadDim + i] += buf[hh * ctx + j] * v;
                }
            }
        }
    }
}
