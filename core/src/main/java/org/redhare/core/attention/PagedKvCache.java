package org.redhare.core.attention;

import org.redhare.core.NativeMemory;
import org.redhare.core.ops.VectorMath;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 */
public final class PagedKvCache implements AutoCloseable {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int layers;
    private final int numBlocks;
    private final int blockSize;
    private final int kWidth; // floats per token for keys (all kv heads)
    private final int vWidth; // floats per token for values (0: keys only, as MLA's latent cache)
    private final KvDtype dtype;
    private final boolean transposedKeys; // [block][kWidth][blockSize] rather than [slot][kWidth]
    private final Arena arena;
    private final MemorySegment[] keys;   // per layer [numBlocks * blockSize, kWidth]
    private final MemorySegment[] values; // per layer [numBlocks * blockSize, vWidth]

    public PagedKvCache(int layers, int numBlocks, int blockSize, int kWidth, int vWidth, KvDtype dtype) {
        if (layers < 1 || numBlocks < 1 || blockSize < 1 || kWidth < 1 || vWidth < 0) {
            throw new IllegalArgumentException("invalid KV cache geometry: layers=" + layers + " blocks=" + numBlocks
                    + " blockSize=" + blockSize + " kWidth=" + kWidth + " vWidth=" + vWidth);
        }
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
        long tokens = (long) numBlocks * blockSize;
        // One mapping for every layer, on transparent huge pages where Linux offers them (NativeMemory): attention reads a
        // sequence's blocks wherever the pool put them, and with 4 KiB pages every block of a layer (4 KiB of BF16 keys at
        // 16 tokens of two 64-dim heads) was a page walk of its own. Per-layer arrays were under 2 MiB in short benchmarks
        // and got no huge pages. `AttentionBench` (one thread, ctx 16384, calls/s, alternated builds): F32 one token
        // 21.2 / 22.1 -> 22.9 / 25.5, 64 tokens 0.50 / 0.41 -> 0.68 / 0.61; BF16 one token 26.1-26.9 -> 26.6-28.7, 64 tokens level.
        long kBytes = align(tokens * kWidth * dtype.bytes()), vBytes = align(tokens * vWidth * dtype.bytes());
        MemorySegment all = NativeMemory.allocate(layers * (kBytes + vBytes), arena);
        for (int l = 0; l < layers; l++) {
            keys[l] = all.asSlice(l * (kBytes + vBytes), tokens * kWidth * dtype.bytes());
            values[l] = vWidth == 0 ? MemorySegment.NULL : all.asSlice(l * (kBytes + vBytes) + kBytes, tokens * vWidth * dtype.bytes());
        }
    }

    private static long align(long bytes) {
        return (bytes + 4095) & -4096L;
    }

    /** Bytes one token occupies across all layers. */
    public static long bytesPerToken(int layers, int kWidth, int vWidth, KvDtype dtype) {
        return (long) layers * (kWidth + vWidth) * dtype.bytes();
    }

    public int layers() { return layers; }
    public int numBlocks() { return numBlocks; }
    public int blockSize() { return blockSize; }
    public int kWidth() { return kWidth; }
    public int vWidth() { return vWidth; }
    public KvDtype dtype() { return dtype; }

    public long totalBytes() {
        return (long) numBlocks * blockSize * bytesPerToken(layers, kWidth, vWidth, dtype) / layers * layers;
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
        }
    }

    /** Reads {@code len} key floats of storage row {@code slot} starting at column {@code col}. */
    public void readKey(int layer, int slot, int col, int len, float[] dst, int dstOff) {
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
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    /**
     * The {@code L} entries of a cache segment (a layer's {@link #keySegment} or {@link #valueSegment}) from entry
     * {@code at / 4} on, as floats. Offsets count 4 bytes an entry whatever the dtype, so the kernels compute one set of
     * offsets for every cache. A 16-bit cache's entries are widened in registers, exactly: BF16 by a shift; F16 as
     * {@link Float#float16ToFloat} (the Vector API has no half-precision conversion): exponent and mantissa shifted into a
     * float's places and scaled by 2^112 (exact for normals and subnormals alike), infinities and NaNs given the float's
     * top exponent instead, then the sign.
     */
    static FloatVector load(MemorySegment seg, long at, KvDtype dtype) {
        if (dtype == KvDtype.F32) {
            return FloatVector.fromMemorySegment(F, seg, at, ByteOrder.LITTLE_ENDIAN);
        }
        return widened(ShortVector.fromMemorySegment(S, seg, at >> 1, ByteOrder.LITTLE_ENDIAN), dtype);
    }

    /** {@link #load} of the lanes of {@code m} (the others 0). */
    static FloatVector load(MemorySegment seg, long at, KvDtype dtype, VectorMask<Float> m) {
        if (dtype == KvDtype.F32) {
            return FloatVector.fromMemorySegment(F, seg, at, ByteOrder.LITTLE_ENDIAN, m);
        }
        return widened(ShortVector.fromMemorySegment(S, seg, at >> 1, ByteOrder.LITTLE_ENDIAN, m.cast(S)), dtype);
    }

    /** The entry at {@code at / 4} of a cache segment as a float (offsets as in {@link #load}). */
    static float get(MemorySegment seg, long at, KvDtype dtype) {
        if (dtype == KvDtype.F32) {
            return seg.get(FLOAT, at);
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
