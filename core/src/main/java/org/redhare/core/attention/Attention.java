package org.redhare.core.attention;

import org.redhare.core.NativeMemory;
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
    private final int window;     // keys a query sees at most (itself and the window - 1 before it); 0: all before it
    private final float softcap;  // scores become softcap * tanh(score / softcap) before the softmax; 0: as they are
    private float[][] scores = new float[0][];
    private float[][] rows = new float[0][];
    /** The widened piece's size: a few hundred keys of a head, kept in the core's L2 between widening and use. */
    private static final long WIDE_BYTES = 256 << 10;
    /**
     * Per thread: a piece of one kv group's keys or values of a 16-bit cache, widened to floats for the float kernels
     * (per thread rather than per instance, as there is an instance per layer).
     */
    private static final ThreadLocal<MemorySegment> WIDENED = ThreadLocal.withInitial(() -> NativeMemory.allocate(WIDE_BYTES));

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
                r[i] = new float[Math.max(Math.max(headDim, vHeadDim), 16 * F.length() + 16)]; // 16 vectors and their 16 sums
            }
            scores = s;
            rows = r;
        }
        final float[][] sc = scores;
        final float[][] rw = rows;
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
                        sc[worker], rw[worker]);
            }
        });
    }

    /** Query {@code t}'s heads of kv group {@code g} against the {@code ctx} keys of {@code table} (the last one its own). */
    private void attendGroup(PagedKvCache cache, int layer, float[] q, int t, int g, int[] table, int ctx,
                             float[] out, float[] buf, float[] row) {
        int group = heads / kvHeads;
        int qWidth = heads * headDim;
        int oWidth = heads * vHeadDim;
        int qBase = t * qWidth + g * group * headDim;
        int oBase = t * oWidth + g * group * vHeadDim;
        boolean wide = cache.dtype() == KvDtype.F32;
        // A 16-bit cache: this group's keys (then values) widened a piece at a time, each piece then through the float
        // kernels; one widening serves every head of the group. Scores are independent per key and values accumulate in
        // key order, so the pieces give the bits of one pass over a float cache holding the same values.
        MemorySegment widened = wide ? null : WIDENED.get();
        int piece = wide ? ctx : (int) (WIDE_BYTES / 4 / Math.max(headDim, vHeadDim));
        for (int j0 = 0; j0 < ctx; j0 += piece) {
            int n = Math.min(piece, ctx - j0);
            if (wide) {
                scoresF32(cache.keySegment(layer), (long) cache.kWidth() * 4, cache.blockSize(), g * headDim * 4L, table, n, q, qBase, group, buf,
                        ctx, j0, row);
            } else {
                cache.widen(true, layer, table, j0, n, g * headDim, headDim, widened);
                scoresF32(widened, headDim * 4L, Integer.MAX_VALUE, 0, CONTIGUOUS, n, q, qBase, group, buf, ctx, j0, row);
            }
        }
        int before = window > 0 ? Math.max(0, ctx - window) : 0; // keys of the table's first block before the window
        for (int hh = 0; hh < group; hh++) {
            int o = hh * ctx;
            if (softcap > 0) {
                for (int j = before; j < ctx; j++) {
                    buf[o + j] = softcap * (float) Math.tanh(buf[o + j] / softcap);
                }
            }
            Arrays.fill(buf, o, o + before, 0f);
            Ops.softmax(buf, o + before, ctx - before);
        }
        Arrays.fill(out, oBase, oBase + group * vHeadDim, 0f);
        for (int j0 = 0; j0 < ctx; j0 += piece) {
            int n = Math.min(piece, ctx - j0);
            if (wide) {
                valuesF32(cache.valueSegment(layer), (long) cache.vWidth() * 4, cache.blockSize(), g * vHeadDim, table, n, out, oBase, group, buf,
                        ctx, j0);
            } else {
                cache.widen(false, layer, table, j0, n, g * vHeadDim, vHeadDim, widened);
                valuesF32(widened, vHeadDim * 4L, Integer.MAX_VALUE, 0, CONTIGUOUS, n, out, oBase, group, buf, ctx, j0);
            }
        }
    }

    /**
     * The block table of a widened piece of keys or values ({@link PagedKvCache#widen}): with a block size of
     * {@code Integer.MAX_VALUE}, key {@code j} of the piece is row {@code j}.
     */
    private static final int[] CONTIGUOUS = {0};

    /**
     * Scores of every query head of group g against each cached key. Four keys and four heads at a time
     * form a 4x4 register tile: each key vector and each query vector loaded serves four FMAs (a key at a
     * time per head needed two loads per FMA). Every score is still one FMA chain over the head dimension
     * in order, then {@link VectorMath}'s lane sum (through sum16, the same bits), then the tail dims in
     * order, then the scale: the same bits whatever the tile, the context length or the batch. Head h's score of key
     * j (of the {@code ctx} in {@code table}) lands at {@code buf[h * stride + j0 + j]}.
     */
    private void scoresF32(MemorySegment keys, long rowBytes, int bs, long kvOff, int[] table, int ctx, float[] q, int qBase, int group, float[] buf,
                           int stride, int j0, float[] tmp) {
        int L = F.length();
        int vec = headDim / L * L;
        // Heads in tiles of four; a last tile of two or three repeats its last head (at most half its FMAs wasted,
        // still fewer loads per useful FMA), a single last head (or a group of one) goes key by key on its own.
        int tiled = group % 4 >= 2 ? group : group / 4 * 4;
        for (int hh = tiled; hh < group; hh++) {
            scoresOneHead(keys, table, bs, rowBytes, kvOff, ctx, q, qBase + hh * headDim, vec, buf, hh * stride + j0, tmp);
        }
        int j = 0;
        for (; j + 4 <= ctx && tiled > 0; j += 4) {
            long k0 = ((long) table[j / bs] * bs + j % bs) * rowBytes + kvOff;
            long k1 = ((long) table[(j + 1) / bs] * bs + (j + 1) % bs) * rowBytes + kvOff;
            long k2 = ((long) table[(j + 2) / bs] * bs + (j + 2) % bs) * rowBytes + kvOff;
            long k3 = ((long) table[(j + 3) / bs] * bs + (j + 3) % bs) * rowBytes + kvOff;
            for (int h0 = 0; h0 < tiled; h0 += 4) {
                int hn = Math.min(4, tiled - h0); // a short last tile repeats its last head (computed, not stored)
                int q0 = qBase + h0 * headDim;
                int q1 = qBase + (h0 + Math.min(1, hn - 1)) * headDim;
                int q2 = qBase + (h0 + Math.min(2, hn - 1)) * headDim;
                int q3 = qBase + (h0 + Math.min(3, hn - 1)) * headDim;
                tile4x4(keys, k0, k1, k2, k3, q, q0, q1, q2, q3, vec, tmp);
                for (int hh = 0; hh < hn; hh++) {
                    int qo = qBase + (h0 + hh) * headDim;
                    buf[(h0 + hh) * stride + j0 + j] = tailDims(keys, k0, q, qo, vec, tmp[16 * L + hh]) * scale;
                    buf[(h0 + hh) * stride + j0 + j + 1] = tailDims(keys, k1, q, qo, vec, tmp[16 * L + 4 + hh]) * scale;
                    buf[(h0 + hh) * stride + j0 + j + 2] = tailDims(keys, k2, q, qo, vec, tmp[16 * L + 8 + hh]) * scale;
                    buf[(h0 + hh) * stride + j0 + j + 3] = tailDims(keys, k3, q, qo, vec, tmp[16 * L + 12 + hh]) * scale;
                }
            }
        }
        for (; j < ctx && tiled > 0; j++) {
            long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + kvOff;
            for (int hh = 0; hh < tiled; hh++) {
                int qo = qBase + hh * headDim;
                dot(keys, base, q, qo, vec, tmp, 0);
                buf[hh * stride + j0 + j] = tailDims(keys, base, q, qo, vec, VectorMath.sum(tmp, 0)) * scale;
            }
        }
    }

    /** One head's scores against every key, sixteen keys at a time (their lane sums through one sum16), into {@code buf[bo ...]}. */
    private void scoresOneHead(MemorySegment keys, int[] table, int bs, long rowBytes, long kvOff, int ctx, float[] q, int qo, int vec,
                               float[] buf, int bo, float[] tmp) {
        final int L = F.length();
        int j = 0;
        for (; j + 16 <= ctx; j += 16) {
            for (int kk = 0; kk < 16; kk++) {
                long base = ((long) table[(j + kk) / bs] * bs + (j + kk) % bs) * rowBytes + kvOff;
                dot(keys, base, q, qo, vec, tmp, kk * L);
            }
            VectorMath.sum16(tmp, 0, tmp, 16 * L);
            for (int kk = 0; kk < 16; kk++) {
                long base = ((long) table[(j + kk) / bs] * bs + (j + kk) % bs) * rowBytes + kvOff;
                buf[bo + j + kk] = tailDims(keys, base, q, qo, vec, tmp[16 * L + kk]) * scale;
            }
        }
        for (; j < ctx; j++) {
            long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + kvOff;
            dot(keys, base, q, qo, vec, tmp, 0);
            buf[bo + j] = tailDims(keys, base, q, qo, vec, VectorMath.sum(tmp, 0)) * scale;
        }
    }

    /**
     * Lane-wise FMA chain of the key at byte offset {@code base} and the query at {@code q[qo ...]} over the vector part,
     * stored at {@code out[off ...]}. Stored rather than returned: C2 does not inline this into its callers (too large
     * for their cold tail loops), and a vector returned from a call is boxed, which also left its FMAs on the Vector
     * API's Java fallback (JFR allocation samples of a 16-user decode: 100-400 MB a second from here).
     */
    private static void dot(MemorySegment keys, long base, float[] q, int qo, int vec, float[] out, int off) {
        keys = NativeMemory.typed(keys);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < vec; i += F.length()) {
            acc = FloatVector.fromMemorySegment(F, keys, base + i * 4L, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.fromArray(F, q, qo + i), acc);
        }
        acc.intoArray(out, off);
    }

    /**
     * Keys at byte offsets k0..k3 against queries at q0..q3, over the vector part of the head dimension: the
     * lane sums land at {@code tmp[16L + 4 * key + head]}.
     */
    private void tile4x4(MemorySegment keys, long k0, long k1, long k2, long k3, float[] q, int q0, int q1, int q2, int q3, int vec, float[] tmp) {
        keys = NativeMemory.typed(keys);
        final int L = F.length();
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int i = 0; i < vec; i += L) {
            FloatVector x0 = FloatVector.fromArray(F, q, q0 + i);
            FloatVector x1 = FloatVector.fromArray(F, q, q1 + i);
            FloatVector x2 = FloatVector.fromArray(F, q, q2 + i);
            FloatVector x3 = FloatVector.fromArray(F, q, q3 + i);
            FloatVector k = FloatVector.fromMemorySegment(F, keys, k0 + i * 4L, ByteOrder.LITTLE_ENDIAN);
            a00 = k.fma(x0, a00); a01 = k.fma(x1, a01); a02 = k.fma(x2, a02); a03 = k.fma(x3, a03);
            k = FloatVector.fromMemorySegment(F, keys, k1 + i * 4L, ByteOrder.LITTLE_ENDIAN);
            a10 = k.fma(x0, a10); a11 = k.fma(x1, a11); a12 = k.fma(x2, a12); a13 = k.fma(x3, a13);
            k = FloatVector.fromMemorySegment(F, keys, k2 + i * 4L, ByteOrder.LITTLE_ENDIAN);
            a20 = k.fma(x0, a20); a21 = k.fma(x1, a21); a22 = k.fma(x2, a22); a23 = k.fma(x3, a23);
            k = FloatVector.fromMemorySegment(F, keys, k3 + i * 4L, ByteOrder.LITTLE_ENDIAN);
            a30 = k.fma(x0, a30); a31 = k.fma(x1, a31); a32 = k.fma(x2, a32); a33 = k.fma(x3, a33);
        }
        a00.intoArray(tmp, 0); a01.intoArray(tmp, L); a02.intoArray(tmp, 2 * L); a03.intoArray(tmp, 3 * L);
        a10.intoArray(tmp, 4 * L); a11.intoArray(tmp, 5 * L); a12.intoArray(tmp, 6 * L); a13.intoArray(tmp, 7 * L);
        a20.intoArray(tmp, 8 * L); a21.intoArray(tmp, 9 * L); a22.intoArray(tmp, 10 * L); a23.intoArray(tmp, 11 * L);
        a30.intoArray(tmp, 12 * L); a31.intoArray(tmp, 13 * L); a32.intoArray(tmp, 14 * L); a33.intoArray(tmp, 15 * L);
        VectorMath.sum16(tmp, 0, tmp, 16 * L);
    }

    /** Four output vectors of one head ({@code out[o ...]}) plus {@code p[j] * v_j} over every key j, in key order. */
    private static void valuesOneHead4(MemorySegment values, int[] table, int bs, long rowBytes, long colBytes, int ctx, float[] buf,
                                       int pb, float[] out, int o) {
        values = NativeMemory.typed(values);
        final int L = F.length();
        FloatVector a0 = FloatVector.fromArray(F, out, o), a1 = FloatVector.fromArray(F, out, o + L);
        FloatVector a2 = FloatVector.fromArray(F, out, o + 2 * L), a3 = FloatVector.fromArray(F, out, o + 3 * L);
        for (int j = 0; j < ctx; j++) {
            long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + colBytes;
            FloatVector p = FloatVector.broadcast(F, buf[pb + j]);
            a0 = FloatVector.fromMemorySegment(F, values, base, ByteOrder.LITTLE_ENDIAN).fma(p, a0);
            a1 = FloatVector.fromMemorySegment(F, values, base + 4L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a1);
            a2 = FloatVector.fromMemorySegment(F, values, base + 8L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a2);
            a3 = FloatVector.fromMemorySegment(F, values, base + 12L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a3);
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + L);
        a2.intoArray(out, o + 2 * L);
        a3.intoArray(out, o + 3 * L);
    }

    /** Four output vectors of four heads ({@code out[o_h ...]}) plus {@code p_h[j] * v_j} over every key j, in key order. */
    private static void values4x4(MemorySegment values, int[] table, int bs, long rowBytes, long colBytes, int ctx, float[] buf,
                                  int p0, int p1, int p2, int p3, float[] out, int o0, int o1, int o2, int o3) {
        values = NativeMemory.typed(values);
        final int L = F.length();
        FloatVector a00 = FloatVector.fromArray(F, out, o0), a01 = FloatVector.fromArray(F, out, o0 + L);
        FloatVector a02 = FloatVector.fromArray(F, out, o0 + 2 * L), a03 = FloatVector.fromArray(F, out, o0 + 3 * L);
        FloatVector a10 = FloatVector.fromArray(F, out, o1), a11 = FloatVector.fromArray(F, out, o1 + L);
        FloatVector a12 = FloatVector.fromArray(F, out, o1 + 2 * L), a13 = FloatVector.fromArray(F, out, o1 + 3 * L);
        FloatVector a20 = FloatVector.fromArray(F, out, o2), a21 = FloatVector.fromArray(F, out, o2 + L);
        FloatVector a22 = FloatVector.fromArray(F, out, o2 + 2 * L), a23 = FloatVector.fromArray(F, out, o2 + 3 * L);
        FloatVector a30 = FloatVector.fromArray(F, out, o3), a31 = FloatVector.fromArray(F, out, o3 + L);
        FloatVector a32 = FloatVector.fromArray(F, out, o3 + 2 * L), a33 = FloatVector.fromArray(F, out, o3 + 3 * L);
        for (int j = 0; j < ctx; j++) {
            long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + colBytes;
            FloatVector v0 = FloatVector.fromMemorySegment(F, values, base, ByteOrder.LITTLE_ENDIAN);
            FloatVector v1 = FloatVector.fromMemorySegment(F, values, base + 4L * L, ByteOrder.LITTLE_ENDIAN);
            FloatVector v2 = FloatVector.fromMemorySegment(F, values, base + 8L * L, ByteOrder.LITTLE_ENDIAN);
            FloatVector v3 = FloatVector.fromMemorySegment(F, values, base + 12L * L, ByteOrder.LITTLE_ENDIAN);
            FloatVector p = FloatVector.broadcast(F, buf[p0 + j]);
            a00 = v0.fma(p, a00); a01 = v1.fma(p, a01); a02 = v2.fma(p, a02); a03 = v3.fma(p, a03);
            p = FloatVector.broadcast(F, buf[p1 + j]);
            a10 = v0.fma(p, a10); a11 = v1.fma(p, a11); a12 = v2.fma(p, a12); a13 = v3.fma(p, a13);
            p = FloatVector.broadcast(F, buf[p2 + j]);
            a20 = v0.fma(p, a20); a21 = v1.fma(p, a21); a22 = v2.fma(p, a22); a23 = v3.fma(p, a23);
            p = FloatVector.broadcast(F, buf[p3 + j]);
            a30 = v0.fma(p, a30); a31 = v1.fma(p, a31); a32 = v2.fma(p, a32); a33 = v3.fma(p, a33);
        }
        // The repeated heads of a short group store last, over identical values.
        a00.intoArray(out, o0); a01.intoArray(out, o0 + L); a02.intoArray(out, o0 + 2 * L); a03.intoArray(out, o0 + 3 * L);
        a10.intoArray(out, o1); a11.intoArray(out, o1 + L); a12.intoArray(out, o1 + 2 * L); a13.intoArray(out, o1 + 3 * L);
        a20.intoArray(out, o2); a21.intoArray(out, o2 + L); a22.intoArray(out, o2 + 2 * L); a23.intoArray(out, o2 + 3 * L);
        a30.intoArray(out, o3); a31.intoArray(out, o3 + L); a32.intoArray(out, o3 + 2 * L); a33.intoArray(out, o3 + 3 * L);
    }

    /** {@code s} plus the key's dims past the vector part times the query's, in order. */
    private float tailDims(MemorySegment keys, long base, float[] q, int qo, int vec, float s) {
        for (int i = vec; i < headDim; i++) {
            s += keys.get(FLOAT, base + i * 4L) * q[qo + i];
        }
        return s;
    }

    /**
     * {@code out_h += p_h[j] * v_j} for every head of group g over the {@code ctx} values of {@code table}, with
     * {@code p_h[j]} at {@code buf[h * stride + j0 + j]}; the value row is read once for the group.
     */
    private void valuesF32(MemorySegment values, long rowBytes, int bs, int col, int[] table, int ctx, float[] out, int oBase, int group, float[] buf,
                           int stride, int j0) {
        values = NativeMemory.typed(values);
        int L = F.length();
        int vec = vHeadDim / L * L;
        // Four heads x four output vectors stay in registers over all keys (16 accumulators): each value
        // vector loaded serves the four heads. Every output element still gets the same FMAs in the same
        // (key) order as updating the output row key by key. A last tile of three heads repeats its last head
        // (computing and storing its values twice, identically); with fewer heads left a tile would load no
        // less per useful FMA, so they go head by head, four value vectors at a time.
        int chunks = vec / (4 * L) * (4 * L);
        int tiled = chunks == 0 ? 0 : group % 4 >= 3 ? group : group / 4 * 4;
        for (int h0 = 0; h0 < tiled; h0 += 4) {
            int hn = Math.min(4, tiled - h0);
            int o0 = oBase + h0 * vHeadDim, p0 = h0 * stride + j0;
            int o1 = oBase + (h0 + Math.min(1, hn - 1)) * vHeadDim, p1 = (h0 + Math.min(1, hn - 1)) * stride + j0;
            int o2 = oBase + (h0 + Math.min(2, hn - 1)) * vHeadDim, p2 = (h0 + Math.min(2, hn - 1)) * stride + j0;
            int o3 = oBase + (h0 + Math.min(3, hn - 1)) * vHeadDim, p3 = (h0 + Math.min(3, hn - 1)) * stride + j0;
            for (int i = 0; i < chunks; i += 4 * L) {
                values4x4(values, table, bs, rowBytes, (col + i) * 4L, ctx, buf, p0, p1, p2, p3, out, o0 + i, o1 + i, o2 + i, o3 + i);
            }
        }
        for (int hh = 0; hh < group; hh++) {
            int ob = oBase + hh * vHeadDim;
            int pb = hh * stride + j0;
            int i = hh < tiled ? chunks : 0;
            for (; i + 4 * L <= vec; i += 4 * L) {
                valuesOneHead4(values, table, bs, rowBytes, (col + i) * 4L, ctx, buf, pb, out, ob + i);
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
                    out[oBase + hh * vHeadDim + i] += buf[hh * stride + j0 + j] * v;
                }
            }
        }
    }
}
