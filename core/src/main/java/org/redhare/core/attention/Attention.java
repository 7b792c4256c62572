package org.redhare.core.attention;

import org.redhare.core.NativeMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int heads;
    private final int kvHeads;
    private final int headDim;  // query/key dims per head
    private final int vHeadDim; // value dims per head
    private final float scale;
    private final int window;     // keys a query sees at most (itself and the window - 1 before it); 0: all before it
    private final float softcap;  // scores become softcap * tanh(score / softcap) before the softmax; 0: as they are
    private float[][] scores = new float[0][];
    /** The widened piece's size: a few hundred keys of a head, kept in the core's L2 between widening and use. */
    private static final long WIDE_BYTES = 256 << 10;
    /**
     * Per thread: a piece of one kv group's keys or values of a 16-bit cache, widened to floats for the float kernels
     * (per thread rather than per instance, as there is an instance per layer).
     */
    private static final ThreadLocal<MemorySegment[]> WIDENED = ThreadLocal.withInitial(() -> new MemorySegment[] {NativeMemory.allocate(WIDE_BYTES)});

    /** This thread's buffer for widened keys or values, at least {@code bytes} long (a single block of keys may be more). */
    private static MemorySegment widened(long bytes) {
        MemorySegment[] held = WIDENED.get();
        if (held[0].byteSize() < bytes) {
            held[0] = NativeMemory.allocate(bytes);
        }
        return held[0];
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
        boolean wide = cache.dtype() == KvDtype.F32;
        int bs = cache.blockSize();
        int stride = ctx + F.length(); // head hh's scores at buf[hh * stride ...]
        // Keys are stored transposed per block (PagedKvCache): the scores of a block come out a vector of keys at a time.
        if (wide) {
            scores(cache.keySegment(layer), table, 0, (long) bs * cache.kWidth() * 4, (long) g * headDim * bs * 4, bs, 0, ctx, q, qBase, group,
                    buf, stride);
        } else {
            // A 16-bit cache: this group's keys of a few blocks widened at a time into the same layout, then scored as a
            // float cache's; one widening serves every head of the group.
            MemorySegment widened = widened(headDim * bs * 4L);
            int blocks = (int) Math.max(1, WIDE_BYTES / (headDim * bs * 4L));
            for (int b0 = 0; b0 * bs < ctx; b0 += blocks) {
                int nb = Math.min(blocks, (ctx - b0 * bs + bs - 1) / bs);
                cache.widenKeyBlocks(layer, table, b0, nb, g * headDim, headDim, widened);
                scores(widened, null, b0, (long) headDim * bs * 4, 0, bs, b0 * bs, Math.min(ctx, (b0 + nb) * bs), q, qBase, group, buf, stride);
            }
        }
        int before = window > 0 ? Math.max(0, ctx - window) : 0; // keys of the table's first block before the window
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
        Arrays.fill(out, oBase, oBase + group * vHeadDim, 0f);
        if (wide) {
            valuesF32(cache.valueSegment(layer), (long) cache.vWidth() * 4, bs, g * vHeadDim, table, ctx, out, oBase, group, buf, stride, 0);
        } else {
            // Values accumulate in key order, so pieces of them widened in turn give the bits of one pass over a float cache.
            MemorySegment widened = widened(vHeadDim * 4L);
            int piece = (int) Math.max(1, WIDE_BYTES / 4 / vHeadDim);
            for (int j0 = 0; j0 < ctx; j0 += piece) {
                int n = Math.min(piece, ctx - j0);
                cache.widen(false, layer, table, j0, n, g * vHeadDim, vHeadDim, widened);
                valuesF32(widened, vHeadDim * 4L, Integer.MAX_VALUE, 0, CONTIGUOUS, n, out, oBase, group, buf, stride, j0);
            }
        }
    }

    /**
     * The block table of a widened piece of keys or values ({@link PagedKvCache#widen}): with a block size of
     * {@code Integer.MAX_VALUE}, key {@code j} of the piece is row {@code j}.
     */
    private static final int[] CONTIGUOUS = {0};

    /**
     * Scores of every query head of group g against keys {@code from .. to} (from a block's first key), into
     * {@code buf[h * stride + j]} for key j. Keys are transposed per block: the block of key j starts at byte
     * {@code table[j / bs] * blockBytes + add} (block {@code j / bs - first} if {@code table} is null: a widened piece), and
     * dim d of its keys is the run of {@code bs} floats at {@code d * bs * 4} from there. So a vector of L consecutive keys'
     * dim d is one load, and each score is one FMA chain over the head dimension in order, in its own lane, then the scale:
     * the same bits whatever the tile, the lane count, the context length or the batch (a key's lane never mixes with
     * another's). A last vector of keys may run past {@code to} (inside its block): those lanes are stored at
     * {@code j < stride} and never read.
     */
    private void scores(MemorySegment keys, int[] table, int first, long blockBytes, long add, int bs, int from, int to, float[] q, int qBase,
                        int group, float[] buf, int stride) {
        keys = NativeMemory.typed(keys);
        final int L = F.length();
        long rowBytes = bs * 4L;
        if (bs % L != 0) {
            scoresMasked(keys, table, first, blockBytes, add, bs, from, to, q, qBase, group, buf, stride);
            return;
        }
        // Heads in tiles of four against two vectors of keys (eight accumulators: each key vector loaded serves four FMAs,
        // each query element broadcast two); a last tile of three repeats its last head; one or two heads left go on
        // their own against four vectors of keys.
        int tiled = group % 4 >= 3 ? group : group / 4 * 4;
        for (int j = from; j < to; j += 2 * L) {
            int j1 = j + L < to ? j + L : j; // an odd last vector is computed twice
            long c0 = chunk(table, first, blockBytes, add, bs, j);
            long c1 = chunk(table, first, blockBytes, add, bs, j1);
            for (int h0 = 0; h0 < tiled; h0 += 4) {
                int hn = Math.min(4, tiled - h0);
                int h1 = h0 + Math.min(1, hn - 1), h2 = h0 + Math.min(2, hn - 1), h3 = h0 + Math.min(3, hn - 1);
                tile4x2(keys, c0, c1, rowBytes, q, qBase + h0 * headDim, qBase + h1 * headDim, qBase + h2 * headDim, qBase + h3 * headDim,
                        buf, h0 * stride, h1 * stride, h2 * stride, h3 * stride, j, j1);
            }
        }
        for (int hh = tiled; hh < group; hh++) {
            for (int j = from; j < to; j += 4 * L) {
                int j1 = j + L < to ? j + L : j, j2 = j + 2 * L < to ? j + 2 * L : j1, j3 = j + 3 * L < to ? j + 3 * L : j2;
                tile1x4(keys, chunk(table, first, blockBytes, add, bs, j), chunk(table, first, blockBytes, add, bs, j1),
                        chunk(table, first, blockBytes, add, bs, j2), chunk(table, first, blockBytes, add, bs, j3), rowBytes, q,
                        qBase + hh * headDim, buf, hh * stride, j, j1, j2, j3);
            }
        }
    }

    /** Byte offset of dim 0 of key j's vector (keys j .. j + L of its block), see {@link #scores}. */
    private static long chunk(int[] table, int first, long blockBytes, long add, int bs, int j) {
        int b = j / bs;
        return (table == null ? b - first : table[b]) * blockBytes + add + (j % bs) * 4L;
    }

    /** Four heads' scores (queries at q0..q3, stored from b0..b3) of the keys of two vectors (at c0, c1; keys j0, j1 on). */
    private void tile4x2(MemorySegment keys, long c0, long c1, long rowBytes, float[] q, int q0, int q1, int q2, int q3, float[] buf,
                         int b0, int b1, int b2, int b3, int j0, int j1) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int d = 0; d < headDim; d++) {
            long r = d * rowBytes;
            FloatVector k0 = FloatVector.fromMemorySegment(F, keys, c0 + r, ByteOrder.LITTLE_ENDIAN);
            FloatVector k1 = FloatVector.fromMemorySegment(F, keys, c1 + r, ByteOrder.LITTLE_ENDIAN);
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
    private void tile1x4(MemorySegment keys, long c0, long c1, long c2, long c3, long rowBytes, float[] q, int qo, float[] buf, int bo,
                         int j0, int j1, int j2, int j3) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < headDim; d++) {
            long r = d * rowBytes;
            FloatVector x = FloatVector.broadcast(F, q[qo + d]);
            a0 = FloatVector.fromMemorySegment(F, keys, c0 + r, ByteOrder.LITTLE_ENDIAN).fma(x, a0);
            a1 = FloatVector.fromMemorySegment(F, keys, c1 + r, ByteOrder.LITTLE_ENDIAN).fma(x, a1);
            a2 = FloatVector.fromMemorySegment(F, keys, c2 + r, ByteOrder.LITTLE_ENDIAN).fma(x, a2);
            a3 = FloatVector.fromMemorySegment(F, keys, c3 + r, ByteOrder.LITTLE_ENDIAN).fma(x, a3);
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
    private void scoresMasked(MemorySegment keys, int[] table, int first, long blockBytes, long add, int bs, int from, int to, float[] q,
                              int qBase, int group, float[] buf, int stride) {
        final int L = F.length();
        long rowBytes = bs * 4L;
        for (int b0 = from; b0 < to; b0 += bs) {
            for (int i = 0; i < bs && b0 + i < to; i += L) {
                VectorMask<Float> m = F.indexInRange(i, Math.min(bs, to - b0));
                long c = chunk(table, first, blockBytes, add, bs, b0 + i);
                for (int hh = 0; hh < group; hh++) {
                    int qo = qBase + hh * headDim;
                    FloatVector a = FloatVector.zero(F);
                    for (int d = 0; d < headDim; d++) {
                        a = FloatVector.fromMemorySegment(F, keys, c + d * rowBytes, ByteOrder.LITTLE_ENDIAN, m).fma(FloatVector.broadcast(F, q[qo + d]), a);
                    }
                    a.mul(scale).intoArray(buf, hh * stride + b0 + i, m);
                }
            }
        }
    }

    /** Four output vectors of one head ({@code out[o ...]}) plus {@code p[j] * v_j} over keys {@code from .. to}, in key order. */
    private static void valuesOneHead4(MemorySegment values, int[] table, int bs, long rowBytes, long colBytes, int from, int to,
                                       float[] buf, int pb, float[] out, int o) {
        final int L = F.length();
        FloatVector a0 = FloatVector.fromArray(F, out, o), a1 = FloatVector.fromArray(F, out, o + L);
        FloatVector a2 = FloatVector.fromArray(F, out, o + 2 * L), a3 = FloatVector.fromArray(F, out, o + 3 * L);
        for (int j0 = from; j0 < to; ) { // a block's run of rows at a time
            int n = Math.min(bs - j0 % bs, to - j0);
            long row = ((long) table[j0 / bs] * bs + j0 % bs) * rowBytes + colBytes;
            for (int s = 0; s < n; s++, row += rowBytes) {
                FloatVector p = FloatVector.broadcast(F, buf[pb + j0 + s]);
                a0 = FloatVector.fromMemorySegment(F, values, row, ByteOrder.LITTLE_ENDIAN).fma(p, a0);
                a1 = FloatVector.fromMemorySegment(F, values, row + 4L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a1);
                a2 = FloatVector.fromMemorySegment(F, values, row + 8L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a2);
                a3 = FloatVector.fromMemorySegment(F, values, row + 12L * L, ByteOrder.LITTLE_ENDIAN).fma(p, a3);
            }
            j0 += n;
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + L);
        a2.intoArray(out, o + 2 * L);
        a3.intoArray(out, o + 3 * L);
    }

    /** Four output vectors of four heads ({@code out[o_h ...]}) plus {@code p_h[j] * v_j} over keys {@code from .. to}, in key order. */
    private static void values4x4(MemorySegment values, int[] table, int bs, long rowBytes, long colBytes, int from, int to, float[] buf,
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
                FloatVector v0 = FloatVector.fromMemorySegment(F, values, row, ByteOrder.LITTLE_ENDIAN);
                FloatVector v1 = FloatVector.fromMemorySegment(F, values, row + 4L * L, ByteOrder.LITTLE_ENDIAN);
                FloatVector v2 = FloatVector.fromMemorySegment(F, values, row + 8L * L, ByteOrder.LITTLE_ENDIAN);
                FloatVector v3 = FloatVector.fromMemorySegment(F, values, row + 12L * L, ByteOrder.LITTLE_ENDIAN);
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
     * Keys whose value rows one pass of {@link #valuesF32} covers for every head of the group before moving on: a run that
     * stays in L1 (128 rows of 64 floats: 32 KiB) while each head tile reads it, so a long context's values come from
     * memory once per group rather than once per tile of four heads.
     */
    private static final int VALUE_RUN_BYTES = 32 << 10;

    /**
     * {@code out_h += p_h[j] * v_j} for every head of group g over the {@code ctx} values of {@code table}, with
     * {@code p_h[j]} at {@code buf[h * stride + j0 + j]}; each run of value rows is read from memory once for the group.
     */
    private void valuesF32(MemorySegment values, long rowBytes, int bs, int col, int[] table, int ctx, float[] out, int oBase, int group, float[] buf,
                           int stride, int j0) {
        values = NativeMemory.typed(values);
        int run = (int) Math.max(16, VALUE_RUN_BYTES / (vHeadDim * 4L));
        for (int from = 0; from < ctx; from += run) {
            valuesRange(values, rowBytes, bs, col, table, from, Math.min(ctx, from + run), out, oBase, group, buf, stride, j0);
        }
    }

    /** {@link #valuesF32} over keys {@code from .. to}: the outputs carry on from the keys before. */
    private void valuesRange(MemorySegment values, long rowBytes, int bs, int col, int[] table, int from, int to, float[] out, int oBase,
                             int group, float[] buf, int stride, int j0) {
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
            int o0 = oBase + h0 * vHeadDim, p0 = h0 * stride + j0;
            int o1 = oBase + (h0 + Math.min(1, hn - 1)) * vHeadDim, p1 = (h0 + Math.min(1, hn - 1)) * stride + j0;
            int o2 = oBase + (h0 + Math.min(2, hn - 1)) * vHeadDim, p2 = (h0 + Math.min(2, hn - 1)) * stride + j0;
            int o3 = oBase + (h0 + Math.min(3, hn - 1)) * vHeadDim, p3 = (h0 + Math.min(3, hn - 1)) * stride + j0;
            for (int i = 0; i < chunks; i += 4 * L) {
                values4x4(values, table, bs, rowBytes, (col + i) * 4L, from, to, buf, p0, p1, p2, p3, out, o0 + i, o1 + i, o2 + i, o3 + i);
            }
        }
        for (int hh = 0; hh < group; hh++) {
            int ob = oBase + hh * vHeadDim;
            int pb = hh * stride + j0;
            int i = hh < tiled ? chunks : 0;
            for (; i + 4 * L <= vec; i += 4 * L) {
                valuesOneHead4(values, table, bs, rowBytes, (col + i) * 4L, from, to, buf, pb, out, ob + i);
            }
            for (; i < vec; i += L) {
                FloatVector a0 = FloatVector.fromArray(F, out, ob + i);
                for (int j = from; j < to; j++) {
                    long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + (col + i) * 4L;
                    a0 = FloatVector.fromMemorySegment(F, values, base, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.broadcast(F, buf[pb + j]), a0);
                }
                a0.intoArray(out, ob + i);
            }
        }
        for (int j = from; j < to; j++) {
            long base = ((long) table[j / bs] * bs + j % bs) * rowBytes + col * 4L;
            for (int i = vec; i < vHeadDim; i++) {
                float v = values.get(FLOAT, base + i * 4L);
                for (int hh = 0; hh < group; hh++) {
                    out[oBase + hh * vHeadDim + i] += buf[hh * stride + j0 + j] * v;
                }
            }
        }
    }
}
