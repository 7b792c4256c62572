package org.redhare.core.attention;

import org.redhare.core.NativeMemory;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
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

    private final int heads;
    private final int kvHeads;
    private final int headDim;  // query/key dims per head
    private final int vHeadDim; // value dims per head
    private final float scale;
    private final int window;     // keys a query sees at most (itself and the window - 1 before it); 0: all before it
    private final float softcap;  // scores become softcap * tanh(score / softcap) before the softmax; 0: as they are
    private float[][] scores = new float[0][];
    /** Whether the machine-code kernels ({@link AttentionKernels}) may run; tests turn them off to compare the bits. */
    boolean nativeKernels = true;

    /** One line for {@code redhare info} and logs: whether attention runs in machine code here ({@link AttentionKernels}), and why not. */
    public static String kernels() {
        return "attention in machine code " + AttentionKernels.status();
    }

    public Attention(int heads, int kvHeads, int headDim, int vHeadDim, float scale) {
        this(heads, kvHeads, headDim, vHeadDim, scale, 0, 0f);
    }

    /**
     * @param window  sliding-window attention (Gemma's, Mistral's local layers): a query at position {@code p} attends to
     *                the keys at {@code p - window + 1 .. p}; 0 for every key up to {@code p}
     * @param softcap Gemma 2's attention logit soft-capping ({@code attn_logit_softcapping}); 0 for none
     */
    public Attention(int heads, int kvHeads, int headDim, int vHeadDim, float scale, int window, float softcap) {
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("attention heads (" + heads + ") must be a multiple of kv heads (" + kvHeads + ")");
        }
        if (window < 0 || !(softcap >= 0)) {
            throw new IllegalArgumentException("attention window " + window + " and soft cap " + softcap + " must be >= 0");
        }
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.vHeadDim = vHeadDim;
        this.scale = scale;
        this.window = window;
        this.softcap = softcap;
    }

    /**
     * @param q      queries {@code [n, heads * headDim]}
     * @param out    results {@code [n, heads * vHeadDim]}
     * @param tables block table of each token's sequence
     * @param positions position of each token in its sequence
     */
    /** Keys a query sees at most, itself included (its sliding window); 0 for every key before it. */
    public int window() {
        return window;
    }

    public void forward(Parallel pool, PagedKvCache cache, int layer, float[] q, int n, int[][] tables, int[] positions, float[] out) {
        int maxCtx = 0;
        for (int t = 0; t < n; t++) {
            maxCtx = Math.max(maxCtx, positions[t] + 1);
        }
        int group = heads / kvHeads;
        int need = group * (maxCtx + F.length()); // a head's scores, then room for a last vector of keys past the context
        if (scores.length < pool.threads() || scores[0].length < need) {
            float[][] s = new float[pool.threads()][];
            for (int i = 0; i < s.length; i++) {
                s[i] = new float[Math.max(need, 64) * 5 / 4];
            }
            scores = s;
        }
        final float[][] sc = scores;
        // A sliding window starts each query's keys at the block holding its first visible key: the kernels below see a
        // shorter context (the block table from that block on) whose first few keys, before the window, get no weight.
        final int[][] tb;
        final int[] skipped;
        if (window > 0 && maxCtx > window) {
            int bs = cache.blockSize();
            tb = new int[n][];
            skipped = new int[n];
            for (int t = 0; t < n; t++) {
                int first = Math.max(0, positions[t] + 1 - window);
                int block = first / bs;
                tb[t] = block == 0 ? tables[t] : Arrays.copyOfRange(tables[t], block, tables[t].length);
                skipped[t] = block * bs;
            }
        } else {
            tb = tables;
            skipped = null;
        }
        pool.forRange(n * kvHeads, 1, (start, end, worker) -> {
            for (int task = start; task < end; task++) {
                int t = task / kvHeads;
                attendGroup(cache, layer, q, t, task % kvHeads, tb[t], positions[t] + 1 - (skipped == null ? 0 : skipped[t]), out,
                        sc[worker]);
            }
        });
    }

    /** Query {@code t}'s heads of kv group {@code g} against the {@code ctx} keys of {@code table} (the last one its own). */
    private void attendGroup(PagedKvCache cache, int layer, float[] q, int t, int g, int[] table, int ctx,
                             float[] out, float[] buf) {
        int group = heads / kvHeads;
        int qWidth = heads * headDim;
        int oWidth = heads * vHeadDim;
        int qBase = t * qWidth + g * group * headDim;
        int oBase = t * oWidth + g * group * vHeadDim;
        KvDtype kv = cache.dtype();
        int bs = cache.blockSize();
        int stride = ctx + F.length(); // head hh's scores at buf[hh * stride ...]
        // Keys are stored transposed per block (PagedKvCache): the scores of a block come out a vector of keys at a time.
        // A 16-bit cache's entries are widened in registers as they are loaded (PagedKvCache.load), exactly, so its
        // results have the bits of a float cache holding the same values. A Q8 cache's codes are widened the same way,
        // and its scales applied a key at a time: each score times its key's scale after the FMA chain, each
        // probability times its value's scale before the values' sum.
        MemorySegment keyScales = cache.keyScaleSegment(layer);
        if (nativeKernels && AttentionKernels.scoresRun(bs)) { // a Q8 cache's key scales applied there
            AttentionKernels.scores(cache.keySegment(layer), kv, table, (long) bs * cache.kWidth(), (long) g * headDim * bs, bs, ctx, headDim,
                    group, q, qBase, buf, stride, scale, keyScales, cache.kvHeads(), g);
        } else {
            scores(cache.keySegment(layer), kv, table, (long) bs * cache.kWidth() * 4, (long) g * headDim * bs * 4, bs, ctx, q, qBase, group,
                    buf, stride);
            if (keyScales != null) {
                scaleByKeys(keyScales, cache.kvHeads(), g, table, bs, ctx, group, buf, stride);
            }
        }
        int before = window > 0 ? Math.max(0, ctx - window) : 0; // keys of the table's first block before the window
        if (nativeKernels && softcap == 0 && AttentionKernels.softmaxRuns()) {
            for (int hh = 0; hh < group; hh++) {
                Arrays.fill(buf, hh * stride, hh * stride + before, 0f);
            }
            AttentionKernels.softmax(buf, group, stride, before, ctx);
        } else {
            for (int hh = 0; hh < group; hh++) {
                int o = hh * stride;
                if (softcap > 0) {
                    for (int j = before; j < ctx; j++) {
                        buf[o + j] = softcap * (float) Math.tanh(buf[o + j] / softcap);
                    }
                }
                Arrays.fill(buf, o, o + before, 0f);
                Ops.softmax(buf, o + before, ctx - before);
            }
        }
        MemorySegment valueScales = cache.valueScaleSegment(layer);
        if (nativeKernels && AttentionKernels.valuesRun(vHeadDim)) { // a Q8 cache's value scales applied there
            AttentionKernels.values(cache.valueSegment(layer), kv, table, cache.vWidth(), g * vHeadDim, bs, ctx, vHeadDim, group, buf, stride,
                    out, oBase, valueScales, cache.kvHeads(), g);
            return;
        }
        if (valueScales != null) {
            scaleByKeys(valueScales, cache.kvHeads(), g, table, bs, ctx, group, buf, stride);
        }
        Arrays.fill(out, oBase, oBase + group * vHeadDim, 0f);
        values(cache.valueSegment(layer), kv, (long) cache.vWidth() * 4, bs, g * vHeadDim, table, ctx, out, oBase, group, buf, stride);
    }

    /**
     * {@code buf[h * stride + j] *= scale of key j} for every head of group g and keys {@code 0 .. ctx}, the scales of
     * a {@link KvDtype#Q8} cache ({@link PagedKvCache#keyScaleSegment}: {@code [block][kvHead][bs]} floats), a vector
     * of keys at a time: one multiply a lane, so the same bits whatever the lanes.
     */
    private static void scaleByKeys(MemorySegment scales, int kvHeads, int g, int[] table, int bs, int ctx, int group, float[] buf,
                                    int stride) {
        scales = NativeMemory.typed(scales);
        final int L = F.length();
        for (int b0 = 0; b0 < ctx; b0 += bs) {
            int n = Math.min(bs, ctx - b0);
            long base = ((long) table[b0 / bs] * kvHeads + g) * bs * 4L;
            for (int i = 0; i < n; i += L) {
                if (i + L <= n) {
                    FloatVector s = FloatVector.fromMemorySegment(F, scales, base + i * 4L, java.nio.ByteOrder.LITTLE_ENDIAN);
                    for (int hh = 0; hh < group; hh++) {
                        int o = hh * stride + b0 + i;
                        FloatVector.fromArray(F, buf, o).mul(s).intoArray(buf, o);
                    }
                } else {
                    VectorMask<Float> m = F.indexInRange(i, n);
                    FloatVector s = FloatVector.fromMemorySegment(F, scales, base + i * 4L, java.nio.ByteOrder.LITTLE_ENDIAN, m);
                    for (int hh = 0; hh < group; hh++) {
                        int o = hh * stride + b0 + i;
                        FloatVector.fromArray(F, buf, o, m).mul(s).intoArray(buf, o, m);
                    }
                }
            }
        }
    }

    /**
     * Scores of every query head of group g against keys {@code 0 .. ctx}, into {@code buf[h * stride + j]} for key j.
     * Keys are transposed per block: the block of key j starts at entry offset {@code table[j / bs] * blockBytes + add}
     * (offsets count 4 bytes an entry whatever the cache's dtype, see {@link PagedKvCache#load}), and dim d of its keys is
     * the run of {@code bs} entries at {@code d * bs * 4} from there. So a vector of L consecutive keys'
     * dim d is one load, and each score is one FMA chain over the head dimension in order, in its own lane, then the scale:
     * the same bits whatever the tile, the lane count, the context length or the batch (a key's lane never mixes with
     * another's). A last vector of keys may run past {@code ctx} (inside its block): those lanes are stored at
     * {@code j < stride} and never read.
     */
    private void scores(MemorySegment keys, KvDtype kv, int[] table, long blockBytes, long add, int bs, int to, float[] q, int qBase,
                        int group, float[] buf, int stride) {
        keys = NativeMemory.typed(keys);
        final int L = F.length();
        long rowBytes = bs * 4L;
        if (bs % L != 0) {
            scoresMasked(keys, kv, table, blockBytes, add, bs, to, q, qBase, group, buf, stride);
            return;
        }
        // Heads in tiles of four against two vectors of keys (eight accumulators: each key vector loaded serves four FMAs,
        // each query element broadcast two); a last tile of three repeats its last head; one or two heads left go on
        // their own against four vectors of keys.
        int tiled = group % 4 >= 3 ? group : group / 4 * 4;
        for (int j = 0; j < to; j += 2 * L) {
            int j1 = j + L < to ? j + L : j; // an odd last vector is computed twice
            long c0 = chunk(table, blockBytes, add, bs, j);
            long c1 = chunk(table, blockBytes, add, bs, j1);
            for (int h0 = 0; h0 < tiled; h0 += 4) {
                int hn = Math.min(4, tiled - h0);
                int h1 = h0 + Math.min(1, hn - 1), h2 = h0 + Math.min(2, hn - 1), h3 = h0 + Math.min(3, hn - 1);
                tile4x2(keys, kv, c0, c1, rowBytes, q, qBase + h0 * headDim, qBase + h1 * headDim, qBase + h2 * headDim, qBase + h3 * headDim,
                        buf, h0 * stride, h1 * stride, h2 * stride, h3 * stride, j, j1);
            }
        }
        for (int hh = tiled; hh < group; hh++) {
            for (int j = 0; j < to; j += 4 * L) {
                int j1 = j + L < to ? j + L : j, j2 = j + 2 * L < to ? j + 2 * L : j1, j3 = j + 3 * L < to ? j + 3 * L : j2;
                tile1x4(keys, kv, chunk(table, blockBytes, add, bs, j), chunk(table, blockBytes, add, bs, j1),
                        chunk(table, blockBytes, add, bs, j2), chunk(table, blockBytes, add, bs, j3), rowBytes, q,
                        qBase + hh * headDim, buf, hh * stride, j, j1, j2, j3);
            }
        }
    }

    /** Byte offset of dim 0 of key j's vector (keys j .. j + L of its block), see {@link #scores}. */
    private static long chunk(int[] table, long blockBytes, long add, int bs, int j) {
        return table[j / bs] * blockBytes + add + (j % bs) * 4L;
    }

    /** Four heads' scores (queries at q0..q3, stored from b0..b3) of the keys of two vectors (at c0, c1; keys j0, j1 on). */
    private void tile4x2(MemorySegment keys, KvDtype kv, long c0, long c1, long rowBytes, float[] q, int q0, int q1, int q2, int q3, float[] buf,
                         int b0, int b1, int b2, int b3, int j0, int j1) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int d = 0; d < headDim; d++) {
            long r = d * rowBytes;
            FloatVector k0 = PagedKvCache.load(keys, c0 + r, kv);
            FloatVector k1 = PagedKvCache.load(keys, c1 + r, kv);
            FloatVector x = FloatVector.broadcast(F, q[q0 + d]);
            a00 = k0.fma(x, a00); a01 = k1.fma(x, a01);
            x = FloatVector.broadcast(F, q[q1 + d]);
            a10 = k0.fma(x, a10); a11 = k1.fma(x, a11);
            x = FloatVector.broadcast(F, q[q2 + d]);
            a20 = k0.fma(x, a20); a21 = k1.fma(x, a21);
            x = FloatVector.broadcast(F, q[q3 + d]);
            a30 = k0.fma(x, a30); a31 = k1.fma(x, a31);
        }
        // Key order: the second vector's keys after the first's (a repeated vector stores the same scores again).
        a00.mul(scale).intoArray(buf, b0 + j0); a01.mul(scale).intoArray(buf, b0 + j1);
        a10.mul(scale).intoArray(buf, b1 + j0); a11.mul(scale).intoArray(buf, b1 + j1);
        a20.mul(scale).intoArray(buf, b2 + j0); a21.mul(scale).intoArray(buf, b2 + j1);
        a30.mul(scale).intoArray(buf, b3 + j0); a31.mul(scale).intoArray(buf, b3 + j1);
    }

    /** One head's scores (query at qo, stored from bo) of the keys of four vectors (at c0..c3; keys j0..j3 on). */
    private void tile1x4(MemorySegment keys, KvDtype kv, long c0, long c1, long c2, long c3, long rowBytes, float[] q, int qo, float[] buf, int bo,
                         int j0, int j1, int j2, int j3) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < headDim; d++) {
            long r = d * rowBytes;
            FloatVector x = FloatVector.broadcast(F, q[qo + d]);
            a0 = PagedKvCache.load(keys, c0 + r, kv).fma(x, a0);
            a1 = PagedKvCache.load(keys, c1 + r, kv).fma(x, a1);
            a2 = PagedKvCache.load(keys, c2 + r, kv).fma(x, a2);
            a3 = PagedKvCache.load(keys, c3 + r, kv).fma(x, a3);
        }
        a0.mul(scale).intoArray(buf, bo + j0);
        a1.mul(scale).intoArray(buf, bo + j1);
        a2.mul(scale).intoArray(buf, bo + j2);
        a3.mul(scale).intoArray(buf, bo + j3);
    }

    /**
     * {@link #scores} where a block is not a whole number of vectors (a block size the lane count does not divide): a
     * block's keys a vector at a time, the last lanes masked, one head at a time. The same FMA chains in the same order.
     */
    private void scoresMasked(MemorySegment keys, KvDtype kv, int[] table, long blockBytes, long add, int bs, int to, float[] q,
                              int qBase, int group, float[] buf, int stride) {
        final int L = F.length();
        long rowBytes = bs * 4L;
        for (int b0 = 0; b0 < to; b0 += bs) {
            for (int i = 0; i < bs && b0 + i < to; i += L) {
                VectorMask<Float> m = F.indexInRange(i, Math.min(bs, to - b0));
                long c = chunk(table, blockBytes, add, bs, b0 + i);
                for (int hh = 0; hh < group; hh++) {
                    int qo = qBase + hh * headDim;
                    FloatVector a = FloatVector.zero(F);
                    for (int d = 0; d < headDim; d++) {
                        a = PagedKvCache.load(keys, c + d * rowBytes, kv, m).fma(FloatVector.broadcast(F, q[qo + d]), a);
                    }
                    a.mul(scale).intoArray(buf, hh * stride + b0 + i, m);
                }
            }
        }
    }

    /** Four output vectors of one head ({@code out[o ...]}) plus {@code p[j] * v_j} over keys {@code from .. to}, in key order. */
    private static void valuesOneHead4(MemorySegment values, KvDtype kv, int[] table, int bs, long rowBytes, long colBytes, int from, int to,
                                       float[] buf, int pb, float[] out, int o) {
        final int L = F.length();
        FloatVector a0 = FloatVector.fromArray(F, out, o), a1 = FloatVector.fromArray(F, out, o + L);
        FloatVector a2 = FloatVector.fromArray(F, out, o + 2 * L), a3 = FloatVector.fromArray(F, out, o + 3 * L);
        for (int j0 = from; j0 < to; ) { // a block's run of rows at a time
            int n = Math.min(bs - j0 % bs, to - j0);
            long row = ((long) table[j0 / bs] * bs + j0 % bs) * rowBytes + colBytes;
            for (int s = 0; s < n; s++, row += rowBytes) {
                FloatVector p = FloatVector.broadcast(F, buf[pb + j0 + s]);
                a0 = PagedKvCache.load(values, row, kv).fma(p, a0);
                a1 = PagedKvCache.load(values, row + 4L * L, kv).fma(p, a1);
                a2 = PagedKvCache.load(values, row + 8L * L, kv).fma(p, a2);
                a3 = PagedKvCache.load(values, row + 12L * L, kv).fma(p, a3);
            }
            j0 += n;
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + L);
        a2.intoArray(out, o + 2 * L);
        a3.intoArray(out, o + 3 * L);
    }

    /** Four output vectors of four heads ({@code out[o_h ...]}) plus {@code p_h[j] * v_j} over keys {@code from .. to}, in key order. */
    private static void values4x4(MemorySegment values, KvDtype kv, int[] table, int bs, long rowBytes, long colBytes, int from, int to, float[] buf,
                                  int p0, int p1, int p2, int p3, float[] out, int o0, int o1, int o2, int o3) {
        final int L = F.length();
        FloatVector a00 = FloatVector.fromArray(F, out, o0), a01 = FloatVector.fromArray(F, out, o0 + L);
        FloatVector a02 = FloatVector.fromArray(F, out, o0 + 2 * L), a03 = FloatVector.fromArray(F, out, o0 + 3 * L);
        FloatVector a10 = FloatVector.fromArray(F, out, o1), a11 = FloatVector.fromArray(F, out, o1 + L);
        FloatVector a12 = FloatVector.fromArray(F, out, o1 + 2 * L), a13 = FloatVector.fromArray(F, out, o1 + 3 * L);
        FloatVector a20 = FloatVector.fromArray(F, out, o2), a21 = FloatVector.fromArray(F, out, o2 + L);
        FloatVector a22 = FloatVector.fromArray(F, out, o2 + 2 * L), a23 = FloatVector.fromArray(F, out, o2 + 3 * L);
        FloatVector a30 = FloatVector.fromArray(F, out, o3), a31 = FloatVector.fromArray(F, out, o3 + L);
        FloatVector a32 = FloatVector.fromArray(F, out, o3 + 2 * L), a33 = FloatVector.fromArray(F, out, o3 + 3 * L);
        for (int j0 = from; j0 < to; ) { // a block's run of rows at a time
            int n = Math.min(bs - j0 % bs, to - j0);
            long row = ((long) table[j0 / bs] * bs + j0 % bs) * rowBytes + colBytes;
            for (int s = 0; s < n; s++, row += rowBytes) {
                int j = j0 + s;
                FloatVector v0 = PagedKvCache.load(values, row, kv);
                FloatVector v1 = PagedKvCache.load(values, row + 4L * L, kv);
                FloatVector v2 = PagedKvCache.load(values, row + 8L * L, kv);
                FloatVector v3 = PagedKvCache.load(values, row + 12L * L, kv);
                FloatVector p = FloatVector.broadcast(F, buf[p0 + j]);
                a00 = v0.fma(p, a00); a01 = v1.fma(p, a01); a02 = v2.fma(p, a02); a03 = v3.fma(p, a03);
                p = FloatVector.broadcast(F, buf[p1 + j]);
                a10 = v0.fma(p, a10); a11 = v1.fma(p, a11); a12 = v2.fma(p, a12); a13 = v3.fma(p, a13);
                p = FloatVector.broadcast(F, buf[p2 + j]);
                a20 = v0.fma(p, a20); a21 = v1.fma(p, a21); a22 = v2.fma(p, a22); a23 = v3.fma(p, a23);
                p = FloatVector.broadcast(F, buf[p3 + j]);
                a30 = v0.fma(p, a30); a31 = v1.fma(p, a31); a32 = v2.fma(p, a32); a33 = v3.fma(p, a33);
            }
            j0 += n;
        }
        // The repeated heads of a short group store last, over identical values.
        a00.intoArray(out, o0); a01.intoArray(out, o0 + L); a02.intoArray(out, o0 + 2 * L); a03.intoArray(out, o0 + 3 * L);
        a10.intoArray(out, o1); a11.intoArray(out, o1 + L); a12.intoArray(out, o1 + 2 * L); a13.intoArray(out, o1 + 3 * L);
        a20.intoArray(out, o2); a21.intoArray(out, o2 + L); a22.intoArray(out, o2 + 2 * L); a23.intoArray(out, o2 + 3 * L);
        a30.intoArray(out, o3); a31.intoArray(out, o3 + L); a32.intoArray(out, o3 + 2 * L); a33.intoArray(out, o3 + 3 * L);
    }

    /**
     * Keys whose value rows one pass of {@link #values} covers for every head of the group before moving on: a run that
     * stays in L1 (128 rows of 64 floats: 32 KiB) while each head tile reads it, so a long context's values come from
     * memory once per group rather than once per tile of four heads.
     */
    private static final int VALUE_RUN_BYTES = 32 << 10;

    /**
     * {@code out_h += p_h[j] * v_j} for every head of group g over the {@code ctx} values of {@code table}, with
     * {@code p_h[j]} at {@code buf[h * stride + j]}; each run of value rows is read from memory once for the group.
     */
    private void values(MemorySegment values, KvDtype kv, long rowBytes, int bs, int col, int[] table, int ctx, float[] out, int oBase, int group,
                        float[] buf, int stride) {
        values = NativeMemory.typed(values);
        int run = (int) Math.max(16, VALUE_RUN_BYTES / (vHeadDim * 4L));
        for (int from = 0; from < ctx; from += run) {
            valuesRange(values, kv, rowBytes, bs, col, table, from, Math.min(ctx, from + run), out, oBase, group, buf, stride);
        }
    }

    /** {@link #values} over keys {@code from .. to}: the outputs carry on from the keys before. */
    private void valuesRange(MemorySegment values, KvDtype kv, long rowBytes, int bs, int col, int[] table, int from, int to, float[] out, int oBase,
                             int group, float[] buf, int stride) {
        int L = F.length();
        int vec = vHeadDim / L * L;
        // Four heads x four output vectors stay in registers over the run (16 accumulators): each value
        // vector loaded serves the four heads. Every output element still gets the same FMAs in the same
        // (key) order as updating the output row key by key. A last tile of three heads repeats its last head
        // (computing and storing its values twice, identically); with fewer heads left a tile would load no
        // less per useful FMA, so they go head by head, four value vectors at a time.
        int chunks = vec / (4 * L) * (4 * L);
        int tiled = chunks == 0 ? 0 : group % 4 >= 3 ? group : group / 4 * 4;
        for (int h0 = 0; h0 < tiled; h0 += 4) {
            int hn = Math.min(4, tiled - h0);
            int o0 = oBase + h0 * vHeadDim, p0 = h0 * stride;
            int o1 = oBase + (h0 + Math.min(1, hn - 1)) * vHeadDim, p1 = (h0 + Math.min(1, hn - 1)) * stride;
            int o2 = oBase + (h0 + Math.min(2, hn - 1)) * vHeadDim, p2 = (h0 + Math.min(2, hn - 1)) * stride;
            int o3 = oBase + (h0 + Math.min(3, hn - 1)) * vHeadDim, p3 = (h0 + Math.min(3, hn - 1)) * stride;
            for (int i = 0; i < chunks; i += 4 * L) {
                values4x4(values, kv, table, bs, rowBytes, (col + i) * 4L, from, to, buf, p0, p1, p2, p3, out, o0 + i, o1 + i, o2 + i, o3 + i);
            }
        }
        for (int hh = 0; hh < group; hh++) {
            int ob = oBase + hh * vHeadDim;
            int pb = hh * stride;
            int i = hh < tiled ? chunks : 0;
            for (; i + 4 * L <= vec; i += 4 * L) {
                valuesOneHead4(values, kv, table, bs, rowBytes, (col + i) * 4L, from, to, buf, pb, out, ob + i);
            }
            for (; i < vec; i += L) {
                FloatVector a0 = FloatVector.fromArray(F, out, ob + i);
                for (int j = from; j < to; j++) {
                    long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + (col + i) * 4L;
                    a0 = PagedKvCache.load(values, base, kv).fma(FloatVector.broadcast(F, buf[pb + j]), a0);
                }
                a0.intoArray(out, ob + i);
            }
        }
        for (int j = from; j < to && vec < vHeadDim; j++) { // dims past the last whole vector, if any
            long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + col * 4L;
            for (int i = vec; i < vHeadDim; i++) {
                float v = PagedKvCache.get(values, base + i * 4L, kv);
                for (int hh = 0; hh < group; hh++) {
                    out[oBase + hh * vHeadDim + i] += buf[hh * stride + j] * v;
                }
            }
        }
    }
}
