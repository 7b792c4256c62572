package org.redhare.engine;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * The KV cache's blocks: who holds them and which hold a reusable prefix. Engine thread only.
 *
 * <p>A block is free (on the free stack), in use (reference count &gt; 0, possibly shared read-only by
 * several sequences), or cached: no sequence holds it but it keeps the keys/values of a full block of
 * known tokens, under a key that chains the keys of all blocks before it. Cached blocks are handed
 * out again when a prompt with the same prefix comes, and evicted least recently released first when
 * the free stack runs dry, so caching never makes the pool smaller.
 *
 * <p>Keys are 64-bit hashes of (previous key, token ids); a hit is also checked against the stored
 * token ids and previous key, so a hash collision cannot hand back a wrong block.
 */
final class KvBlockPool {
    /** Key of the (empty) prefix before the first block. */
    static final long ROOT = 0x5DEECE66DL;

    private final int blockSize;
    private final int[] free;               // stack of free, unkeyed block ids
    private int top;
    private final int[] refs;               // [blocks] sequences holding each block
    private final long[] keys;              // [blocks] key of a keyed block
    private final long[] parents;           // [blocks] key of the block before it
    private final int[][] blockTokens;      // [blocks][blockSize] token ids of a keyed block, or null
    private final Map<Long, Integer> byKey = new HashMap<>();
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>(); // keyed, unreferenced; oldest first
    private int inUse;

    KvBlockPool(int blocks, int blockSize) {
        this.blockSize = blockSize;
        free = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            free[i] = blocks - 1 - i;
        }
        top = blocks;
        refs = new int[blocks];
        keys = new long[blocks];
        parents = new long[blocks];
        blockTokens = new int[blocks][];
    }

    /** Blocks that can be allocated now (free or cached-but-unreferenced). */
    int available() {
        return top + evictable.size();
    }

    int capacity() {
        return free.length;
    }

    /** Blocks held by at least one sequence. */
    int inUse() {
        return inUse;
    }

    /** Blocks kept only for prefix reuse. */
    int cached() {
        return evictable.size();
    }

    /** A block for new keys/values: a free one, else the least recently released cached one (forgetting its prefix). */
    int allocate() {
        int b;
        if (top > 0) {
            b = free[--top];
        } else if (!evictable.isEmpty()) {
            var it = evictable.iterator();
            b = it.next();
            it.remove();
            forget(b);
        } else {
            throw new IllegalStateException("KV cache pool exhausted");
        }
        refs[b] = 1;
        inUse++;
        return b;
    }

    /** Drops one reference; an unreferenced block with a key stays cached, one without goes back to the free stack. */
    void release(int b) {
        if (refs[b] <= 0) {
            throw new IllegalStateException("KV block " + b + " released more often than taken");
        }
        if (--refs[b] == 0) {
            inUse--;
            if (blockTokens[b] != null) {
                evictable.add(b);
            } else {
                free[top++] = b;
            }
        }
    }

    /**
     * The cached block holding {@code tokens[from .. from+blockSize)} after the prefix keyed {@code parent},
     * taking a reference to it; -1 when there is none.
     */
    int acquire(long key, long parent, int[] tokens, int from) {
        Integer b = byKey.get(key);
        if (b == null || parents[b] != parent || !Arrays.equals(blockTokens[b], 0, blockSize, tokens, from, from + blockSize)) {
            return -1;
        }
        if (refs[b]++ == 0) {
            evictable.remove(b);
            inUse++;
        }
        return b;
    }

    /** Whether a block with this key is cached or in use (so computing it again would be wasted). */
    boolean contains(long key) {
        return byKey.containsKey(key);
    }

    /**
     * Records that block {@code b} (held by the caller, now full) holds {@code tokens[from .. from+blockSize)}
     * after the prefix keyed {@code parent}. When another block already has the key, this one stays
     * private and is freed normally.
     */
    void publish(int b, long key, long parent, int[] tokens, int from) {
        if (blockTokens[b] != null || byKey.containsKey(key)) {
            return;
        }
        byKey.put(key, b);
        keys[b] = key;
        parents[b] = parent;
        blockTokens[b] = Arrays.copyOfRange(tokens, from, from + blockSize);
    }

    private void forget(int b) {
        byKey.remove(keys[b]);
        blockTokens[b] = null;
    }

    /** The key of a full block of {@code tokens[from .. from+blockSize)} after the prefix keyed {@code parent}. */
    static long key(long parent, int[] tokens, int from, int blockSize) {
        long h = mix(parent ^ 0x9E3779B97F4A7C15L);
        for (int i = from; i < from + blockSize; i++) {
            h = mix(h + (tokens[i] & 0xFFFFFFFFL) * 0xC2B2AE3D27D4EB4FL);
        }
        return h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
