package org.redhare.core.attention;

import org.redhare.core.NativeMemory;
import org.redhare.core.ops.VectorMath;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.redhare.core.Numbers;
import org.redhare.core.ops.Ops;

/**
 * Key/value storage in fixed-size blocks from one pool, for every layer. A sequence owns a list of
 * blocks (its block table); token {@code j} of a sequence lives in block {@code table[j / blockSize]},
 * slot {@code j % blockSize}. Which blocks a sequence gets is the engine's business; this class only
 * stores and reads rows. Memory is native (outside the Java heap) and freed by {@link #close()}.
 *
 * <p>Values are rows, one per token. Keys are rows too in a keys-only cache (MLA's latent cache, read a row at a time),
 * but a cache with values stores each block's keys transposed: column {@code c} of the block's {@code blockSize} keys is
 * one run of {@code blockSize} entries ({@code [block][kWidth][blockSize]}), so a vector holds one dimension of several
 * keys and {@link Attention} computes as many scores at once, each a plain FMA chain over the head dimension, with no
 * lane sums.
 *
 * <p>A {@link KvDtype#Q8} cache stores each entry as an 8-bit integer and, for each token and KV head, one float scale
 * for its keys and one for its values: the head's largest magnitude over 127, the codes the entries times the scale's
 * reciprocal rounded to the nearest integer (ties to even), so an entry reads back as {@code code * scale}, off by
 * about half a scale at most. The scales sit apart from the codes, {@code [block][kvHead][blockSize]}, so that a block's scales of one head
 * are one vector for the 16 keys or values a kernel takes at a time: {@link Attention} multiplies each key's score by
 * its key scale and each probability by its value scale, and the kernels themselves read the codes alone.
 */
public final class PagedKvCache implements AutoCloseable {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int layers;
    private final int numBlocks;
    private final int windowBlocks; // blocks of each sliding-window layer (numBlocks when they hold as many as the others)
    private final int[] layerBlocks; // [layers] blocks each layer holds
    private final int blockSize;
    private final int kWidth; // floats per token for keys (all kv heads)
    private final int vWidth; // floats per token for values (0: keys only, as MLA's latent cache)
    private final KvDtype dtype;
    private final boolean transposedKeys; // [block][kWidth][blockSize] rather than [slot][kWidth]
    private final Arena arena;
    private final MemorySegment[] keys;   // per layer [numBlocks * blockSize, kWidth]
    private final MemorySegment[] values; // per layer [numBlocks * blockSize, vWidth]
    private final int kvHeads; // heads the keys (and values) of a token split into: Q8's scale groups
    private final MemorySegment[] keyScales;   // Q8: per layer [numBlocks][kvHeads][blockSize] floats; otherwise null
    private final MemorySegment[] valueScales; // Q8: the same for the values

    /** A cache whose tokens' keys and values are one head each (as far as {@link KvDtype#Q8}'s scales go). */
    public PagedKvCache(int layers, int numBlocks, int blockSize, int kWidth, int vWidth, KvDtype dtype) {
        this(layers, numBlocks, blockSize, kWidth, vWidth, dtype, 1);
    }

    /**
     * @param kvHeads the KV heads a token's {@code kWidth} keys and {@code vWidth} values are made of (each a whole number
     *                of entries): a {@link KvDtype#Q8} cache keeps a scale per token and head; other dtypes ignore it
     */
    public PagedKvCache(int layers, int numBlocks, int blockSize, int kWidth, int vWidth, KvDtype dtype, int kvHeads) {
        this(layers, numBlocks, blockSize, kWidth, vWidth, dtype, kvHeads, null, numBlocks);
    }

    /**
     * A cache whose sliding-window layers ({@code windowed[l]}) hold {@code windowBlocks} blocks and every other layer
     * {@code numBlocks}: a window layer's queries read only their last keys, so its blocks behind every sequence's window
     * can be given back while the sequence goes on (the engine keeps a second block table for them). {@code windowed}
     * null, or {@code windowBlocks == numBlocks}: one block count for all layers.
     */
    public PagedKvCache(int layers, int numBlocks, int blockSize, int kWidth, int vWidth, KvDtype dtype, int kvHeads, boolean[] windowed,
                        int windowBlocks) {
        if (windowed != null && (windowed.length != layers || windowBlocks < 1 || windowBlocks > numBlocks)) {
            throw new IllegalArgumentException("invalid window layers: " + (windowed.length) + " flags for " + layers + " layers, "
                    + windowBlocks + " window blocks of " + numBlocks);
        }
        if (layers < 1 || numBlocks < 1 || blockSize < 1 || kWidth < 1 || vWidth < 0 || kvHeads < 1 || kWidth % kvHeads != 0
                || vWidth % kvHeads != 0) {
            throw new IllegalArgumentException("invalid KV cache geometry: layers=" + layers + " blocks=" + numBlocks
                    + " blockSize=" + blockSize + " kWidth=" + kWidth + " vWidth=" + vWidth + " kvHeads=" + kvHeads);
        }
        if (dtype == KvDtype.Q8 && vWidth == 0) {
            throw new IllegalArgumentException("an 8-bit KV cache (q8) holds the keys and values of attention heads; a latent "
                    + "cache (DeepSeek's multi-head latent attention) takes f32, bf16 or f16");
        }
        this.kvHeads = kvHeads;
        this.layers = layers;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kWidth = kWidth;
        this.vWidth = vWidth;
        this.dtype = dtype;
        this.transposedKeys = vWidth > 0;
        this.arena = Arena.ofShared();
        this.keys = new MemorySegment[layers];
        this.values = new MemorySegment[layers];
        this.layerBlocks = new int[layers];
        for (int l = 0; l < layers; l++) {
            layerBlocks[l] = windowed != null && windowed[l] ? windowBlocks : numBlocks;
        }
        this.windowBlocks = windowed == null ? numBlocks : windowBlocks;
        // One mapping for every layer, on transparent huge pages where Linux offers them (NativeMemory): attention reads a
        // sequence's blocks wherever the pool put them, and with 4 KiB pages every block of a layer (4 KiB of BF16 keys at
        // 16 tokens of two 64-dim heads) was a page walk of its own. Per-layer arrays were under 2 MiB in short benchmarks
        // and got no huge pages. `AttentionBench` (one thread, ctx 16384, calls/s, alternated builds): F32 one token
        // 21.2 / 22.1 -> 22.9 / 25.5, 64 tokens 0.50 / 0.41 -> 0.68 / 0.61; BF16 one token 26.1-26.9 -> 26.6-28.7, 64 tokens level.
        long total = 0;
        for (int l = 0; l < layers; l++) {
            total += layerBytes((long) layerBlocks[l] * blockSize);
        }
        MemorySegment all = NativeMemory.allocate(total, arena);
        boolean scaled = dtype == KvDtype.Q8;
        this.keyScales = scaled ? new MemorySegment[layers] : null;
        this.valueScales = scaled ? new MemorySegment[layers] : null;
        long at = 0;
        for (int l = 0; l < layers; l++) {
            long tokens = (long) layerBlocks[l] * blockSize;
            long kBytes = align(tokens * kWidth * dtype.bytes()), vBytes = align(tokens * vWidth * dtype.bytes());
            long sBytes = scaled ? align(tokens * kvHeads * 4L) : 0; // one layer's key (or value) scales
            keys[l] = all.asSlice(at, tokens * kWidth * dtype.bytes());
            values[l] = vWidth == 0 ? MemorySegment.NULL : all.asSlice(at + kBytes, tokens * vWidth * dtype.bytes());
            if (scaled) {
                keyScales[l] = all.asSlice(at + kBytes + vBytes, tokens * kvHeads * 4L);
                valueScales[l] = all.asSlice(at + kBytes + vBytes + sBytes, tokens * kvHeads * 4L);
            }
            at += layerBytes(tokens);
        }
    }

    /** Bytes of one layer holding {@code tokens} tokens: keys, values and a Q8 cache's scales, each on whole pages. */
    private long layerBytes(long tokens) {
        long sBytes = dtype == KvDtype.Q8 ? align(tokens * kvHeads * 4L) : 0;
        return align(tokens * kWidth * dtype.bytes()) + align(tokens * vWidth * dtype.bytes()) + 2 * sBytes;
    }

    private static long align(long bytes) {
        return (bytes + 4095) & -4096L;
    }

    /** Bytes one token occupies across all layers (a {@link KvDtype#Q8} cache's scales included). */
    public static long bytesPerToken(int layers, int kWidth, int vWidth, KvDtype dtype, int kvHeads) {
        long scales = dtype == KvDtype.Q8 ? (vWidth > 0 ? 2L : 1L) * kvHeads * 4 : 0;
        return (long) layers * ((long) (kWidth + vWidth) * dtype.bytes() + scales);
    }

    /** {@link #bytesPerToken(int, int, int, KvDtype, int)} with one KV head. */
    public static long bytesPerToken(int layers, int kWidth, int vWidth, KvDtype dtype) {
        return bytesPerToken(layers, kWidth, vWidth, dtype, 1);
    }

    public int layers() { return layers; }
    /** Blocks of the layers that are not windowed (all layers unless the cache was made with window layers). */
    public int numBlocks() { return numBlocks; }
    /** Blocks each sliding-window layer holds: {@link #numBlocks()} unless the cache was made with fewer for them. */
    public int windowBlocks() { return windowBlocks; }
    /** Blocks layer {@code layer} holds: a block table entry for it must be below this. */
    public int numBlocks(int layer) { return layerBlocks[layer]; }
    public int blockSize() { return blockSize; }
    public int kWidth() { return kWidth; }
    public int vWidth() { return vWidth; }
    public KvDtype dtype() { return dtype; }
    public int kvHeads() { return kvHeads; }

    public long totalBytes() {
        long tokens = 0;
        for (int b : layerBlocks) {
            tokens += (long) b * blockSize;
        }
        return tokens * bytesPerToken(1, kWidth, vWidth, dtype, kvHeads);
    }

    /** Whether each block's keys are stored transposed, {@code [kWidth][blockSize]} (a cache with values). */
    public boolean transposedKeys() {
        return transposedKeys;
    }

    /** Native memory of one layer's keys: {@code [numBlocks, kWidth, blockSize]} if {@link #transposedKeys}, else {@code [numBlocks * blockSize, kWidth]}. */
    MemorySegment keySegment(int layer) {
        return keys[layer];
    }

    MemorySegment valueSegment(int layer) {
        return values[layer];
    }

    /** A {@link KvDtype#Q8} cache's key scales of one layer, {@code [numBlocks][kvHeads][blockSize]} floats; null otherwise. */
    MemorySegment keyScaleSegment(int layer) {
        return keyScales == null ? null : keyScales[layer];
    }

    /** A {@link KvDtype#Q8} cache's value scales of one layer, laid out as {@link #keyScaleSegment}'s; null otherwise. */
    MemorySegment valueScaleSegment(int layer) {
        return valueScales == null ? null : valueScales[layer];
    }

    /** Float index of the scale of head {@code head} at storage row {@code slot} in a scale segment. */
    private long scaleIndex(int slot, int head) {
        return ((long) (slot / blockSize) * kvHeads + head) * blockSize + slot % blockSize;
    }

    /** Index of the storage row holding position {@code pos} of a sequence with block table {@code table}. */
    public int slotOf(int[] table, int pos) {
        return table[pos / blockSize] * blockSize + pos % blockSize;
    }

    /** Entry index of key column {@code col} of storage row {@code slot}. */
    private long keyIndex(int slot, int col) {
        return transposedKeys ? ((long) (slot / blockSize) * kWidth + col) * blockSize + slot % blockSize : (long) slot * kWidth + col;
    }

    /** Stores one token's keys (and values) at storage row {@code slot}. */
    public void write(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
        if (dtype == KvDtype.Q8) {
            writeQ8(layer, slot, k, kOff, v, vOff);
            return;
        }
        if (transposedKeys) {
            MemorySegment seg = keys[layer];
            for (int c = 0; c < kWidth; c++) {
                long at = keyIndex(slot, c);
                switch (dtype) {
                    case F32 -> seg.set(FLOAT, at * 4, k[kOff + c]);
                    case BF16 -> seg.set(SHORT, at * 2, Numbers.floatToBf16(k[kOff + c]));
                    case F16 -> seg.set(SHORT, at * 2, Float.floatToFloat16(k[kOff + c]));
                }
            }
        } else {
            writeRow(keys[layer], slot, kWidth, k, kOff);
        }
        if (vWidth > 0) {
            writeRow(values[layer], slot, vWidth, v, vOff);
        }
    }

    /** {@link #write} into a {@link KvDtype#Q8} cache: each head's entries as codes, its scale beside them. */
    private void writeQ8(int layer, int slot, float[] k, int kOff, float[] v, int vOff) {
        int kh = kWidth / kvHeads, vh = vWidth / kvHeads;
        MemorySegment ks = keys[layer], vs = values[layer];
        byte[] codes = new byte[Math.max(kh, vh)]; // per call: writers of different slots may run at once
        for (int h = 0; h < kvHeads; h++) {
            float s = quantizeHead(k, kOff + h * kh, kh, codes);
            keyScales[layer].setAtIndex(FLOAT, scaleIndex(slot, h), s);
            for (int c = 0; c < kh; c++) {
                ks.set(ValueLayout.JAVA_BYTE, keyIndex(slot, h * kh + c), codes[c]);
            }
            s = quantizeHead(v, vOff + h * vh, vh, codes);
            valueScales[layer].setAtIndex(FLOAT, scaleIndex(slot, h), s);
            MemorySegment.copy(codes, 0, vs, ValueLayout.JAVA_BYTE, (long) slot * vWidth + h * vh, vh);
        }
    }

    /**
     * Entries {@code x[off .. off + n]} as codes {@code rint(x * (1 / scale))} (ties to even) into {@code codes}, returning the
     * scale: their largest magnitude over 127 (0, and all codes 0, when that is 0). A head with an entry that is not
     * finite gets a scale that is not finite, so it reads back as NaN, as a float cache's non-finite entries spread.
     */
    private static float quantizeHead(float[] x, int off, int n, byte[] codes) {
        float m = 0f;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(x[off + i]));
        }
        float scale = m / 127f;
        if (!(scale > 0f) || !Float.isFinite(scale)) { // all 0 (or too small to scale), or an entry not finite
            java.util.Arrays.fill(codes, 0, n, (byte) 0);
            return Float.isFinite(m) ? 0f : Float.NaN;
        }
        float inv = 1f / scale;
        for (int i = 0; i < n; i++) {
            codes[i] = (byte) Math.max(-127, Math.min(127, (int) Math.rint(x[off + i] * inv)));
        }
        return scale;
    }

    private void writeRow(MemorySegment seg, int slot, int width, float[] src, int off) {
        long base = (long) slot * width;
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, off, seg, FLOAT, base * 4, width);
            case BF16 -> {
                for (int i = 0; i < width; i++) {
                    seg.set(SHORT, (base + i) * 2, Numbers.floatToBf16(src[off + i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < width; i++) {
                    seg.set(SHORT, (base + i) * 2, Float.floatToFloat16(src[off + i]));
                }
            }
            case Q8 -> throw new IllegalStateException("q8 rows are written by writeQ8");
        }
    }

    /** Reads {@code len} key floats of storage row {@code slot} starting at column {@code col}. */
    public void readKey(int layer, int slot, int col, int len, float[] dst, int dstOff) {
        if (dtype == KvDtype.Q8) {
            int kh = kWidth / kvHeads;
            for (int i = 0; i < len; i++) {
                dst[dstOff + i] = keys[layer].get(ValueLayout.JAVA_BYTE, keyIndex(slot, col + i))
                        * keyScales[layer].getAtIndex(FLOAT, scaleIndex(slot, (col + i) / kh));
            }
            return;
        }
        if (transposedKeys) {
            MemorySegment seg = keys[layer];
            for (int i = 0; i < len; i++) {
                long at = keyIndex(slot, col + i);
                dst[dstOff + i] = get(seg, at * 4, dtype);
            }
            return;
        }
        readRow(keys[layer], keyIndex(slot, col), len, dst, dstOff);
    }

    public void readValue(int layer, int slot, int col, int len, float[] dst, int dstOff) {
        if (dtype == KvDtype.Q8) {
            int vh = vWidth / kvHeads;
            for (int i = 0; i < len; i++) {
                dst[dstOff + i] = values[layer].get(ValueLayout.JAVA_BYTE, (long) slot * vWidth + col + i)
                        * valueScales[layer].getAtIndex(FLOAT, scaleIndex(slot, (col + i) / vh));
            }
            return;
        }
        readRow(values[layer], (long) slot * vWidth + col, len, dst, dstOff);
    }

    /** Widens {@code len} entries from entry {@code index} of {@code seg} into {@code dst[off ..]}, a vector at a time ({@link #load}). */
    private void readRow(MemorySegment seg, long index, int len, float[] dst, int off) {
        if (dtype == KvDtype.F32) {
            MemorySegment.copy(seg, FLOAT, index * 4, dst, off, len);
            return;
        }
        seg = NativeMemory.typed(seg);
        int L = F.length();
        int i = 0;
        for (; i + L <= len; i += L) {
            load(seg, (index + i) * 4, dtype).intoArray(dst, off + i);
        }
        for (; i < len; i++) {
            dst[off + i] = get(seg, (index + i) * 4, dtype);
        }
    }

    /** Lanes of 16-bit cache entries widened at once: as many as a float vector has. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /**
     * 8-bit cache entries widened at once: as many lanes as a float vector has, but at least 64 bits (with 128-bit
     * float vectors, twice as many lanes, loaded under {@link #B_LANES}: the first four).
     */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    private static final VectorMask<Byte> B_LANES = B.indexInRange(0, F.length());
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    /**
     * The {@code L} entries of a cache segment (a layer's {@link #keySegment} or {@link #valueSegment}) from entry
     * {@code at / 4} on, as floats. Offsets count 4 bytes an entry whatever the dtype, so the kernels compute one set of
     * offsets for every cache. A 16-bit cache's entries are widened in registers, exactly: BF16 by a shift; F16 as
     * {@link Float#float16ToFloat} (the Vector API has no half-precision conversion): exponent and mantissa shifted into a
     * float's places and scaled by 2^112 (exact for normals and subnormals alike), infinities and NaNs given the float's
     * top exponent instead, then the sign. A Q8 cache's entries come as their codes, unscaled.
     */
    static FloatVector load(MemorySegment seg, long at, KvDtype dtype) {
        if (dtype == KvDtype.F32) {
            return FloatVector.fromMemorySegment(F, seg, at, ByteOrder.LITTLE_ENDIAN);
        }
        if (dtype == KvDtype.Q8) {
            ByteVector codes = B.length() == F.length() ? ByteVector.fromMemorySegment(B, seg, at >> 2, ByteOrder.LITTLE_ENDIAN)
                    : ByteVector.fromMemorySegment(B, seg, at >> 2, ByteOrder.LITTLE_ENDIAN, B_LANES);
            return (FloatVector) codes.convertShape(VectorOperators.B2F, F, 0);
        }
        return widened(ShortVector.fromMemorySegment(S, seg, at >> 1, ByteOrder.LITTLE_ENDIAN), dtype);
    }

    /** {@link #load} of the lanes of {@code m} (the others 0). */
    static FloatVector load(MemorySegment seg, long at, KvDtype dtype, VectorMask<Float> m) {
        if (dtype == KvDtype.F32) {
            return FloatVector.fromMemorySegment(F, seg, at, ByteOrder.LITTLE_ENDIAN, m);
        }
        if (dtype == KvDtype.Q8) {
            VectorMask<Byte> lanes = B.length() == F.length() ? m.cast(B) : VectorMask.fromLong(B, m.toLong());
            return (FloatVector) ByteVector.fromMemorySegment(B, seg, at >> 2, ByteOrder.LITTLE_ENDIAN, lanes)
                    .convertShape(VectorOperators.B2F, F, 0);
        }
        return widened(ShortVector.fromMemorySegment(S, seg, at >> 1, ByteOrder.LITTLE_ENDIAN, m.cast(S)), dtype);
    }

    /** The entry at {@code at / 4} of a cache segment as a float (offsets as in {@link #load}; a Q8 entry's code). */
    static float get(MemorySegment seg, long at, KvDtype dtype) {
        if (dtype == KvDtype.F32) {
            return seg.get(FLOAT, at);
        }
        if (dtype == KvDtype.Q8) {
            return seg.get(ValueLayout.JAVA_BYTE, at >> 2);
        }
        short code = seg.get(SHORT, at >> 1);
        return dtype == KvDtype.BF16 ? Numbers.bf16ToFloat(code) : Float.float16ToFloat(code);
    }

    private static FloatVector widened(ShortVector codes, KvDtype dtype) {
        IntVector h = (IntVector) codes.convertShape(VectorOperators.S2I, I, 0);
        if (dtype == KvDtype.BF16) {
            return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        }
        // h is sign-extended, so h << 13 has the sign in bits 28..31 and exponent and mantissa in bits 13..27: keeping bit 31
        // of the sign gives a float of the same sign whose exponent and mantissa are the half's, 112 below its bias.
        IntVector m = h.lanewise(VectorOperators.LSHL, 13).and(0x8fffffff);
        FloatVector scaled = m.reinterpretAsFloats().mul(0x1p112f);
        return scaled.blend(m.or(0x70000000).reinterpretAsFloats(), m.and(0x0f800000).compare(VectorOperators.EQ, 0x0f800000).cast(F));
    }

    /** Dot product of {@code q[qOff..+len)} with the key columns {@code [col, col+len)} of row {@code slot}. */
    public float dotKey(int layer, int slot, int col, float[] q, int qOff, int len, float[] tmp) {
        if (dtype == KvDtype.F32 && !transposedKeys) {
            MemorySegment seg = NativeMemory.typed(keys[layer]);
            long base = ((long) slot * kWidth + col) * 4;
            int L = F.length();
            FloatVector acc = FloatVector.zero(F);
            int i = 0;
            for (; i + L <= len; i += L) {
                acc = FloatVector.fromMemorySegment(F, seg, base + i * 4L, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(F, q, qOff + i), acc);
            }
            float s = VectorMath.sum(acc);
            for (; i < len; i++) {
                s += seg.get(FLOAT, base + i * 4L) * q[qOff + i];
            }
            return s;
        }
        readKey(layer, slot, col, len, tmp, 0);
        return Ops.dot(tmp, 0, q, qOff, len); // the F32 path's operations, in its order
    }

    /** {@code out[outOff + i] += p * key[slot, col + i]} (latent caches that keep keys and values in one row). */
    public void accumulateKey(int layer, int slot, int col, float p, float[] out, int outOff, int len, float[] tmp) {
        if (transposedKeys) {
            readKey(layer, slot, col, len, tmp, 0);
            Ops.axpy(p, tmp, 0, out, outOff, len);
            return;
        }
        accumulate(keys[layer], kWidth, slot, col, p, out, outOff, len, tmp);
    }

    private void accumulate(MemorySegment seg, int width, int slot, int col, float p, float[] out, int outOff, int len, float[] tmp) {
        seg = NativeMemory.typed(seg);
        if (dtype == KvDtype.F32) {
            long base = ((long) slot * width + col) * 4;
            int L = F.length();
            FloatVector pv = FloatVector.broadcast(F, p);
            int i = 0;
            for (; i + L <= len; i += L) {
                FloatVector.fromMemorySegment(F, seg, base + i * 4L, ByteOrder.LITTLE_ENDIAN)
                        .fma(pv, FloatVector.fromArray(F, out, outOff + i)).intoArray(out, outOff + i);
            }
            for (; i < len; i++) {
                out[outOff + i] += p * seg.get(FLOAT, base + i * 4L);
            }
            return;
        }
        readRow(seg, (long) slot * width + col, len, tmp, 0);
        Ops.axpy(p, tmp, 0, out, outOff, len); // the F32 path's operations, in its order
    }

    @Override
    public void close() {
        arena.close();
    }
}
