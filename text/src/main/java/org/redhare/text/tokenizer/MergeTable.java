package org.redhare.text.tokenizer;

/**
 * BPE merges as an open-addressing hash map from the pair (left id, right id) to (rank, merged id):
 * looked up for every adjacent pair while merging, so no boxing and no String concatenation.
 */
final class MergeTable {
    private static final long EMPTY = -1L;
    private final long[] keys;
    private final long[] values; // rank << 32 | merged id
    private final int mask;

    MergeTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new long[cap];
        java.util.Arrays.fill(keys, EMPTY);
        mask = cap - 1;
    }

    static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    /** Keeps the first (lowest-rank) entry of a duplicated pair, as Hugging Face does. */
    void putIfAbsent(int left, int right, int rank, int merged) {
        long k = key(left, right);
        int i = slot(k, mask);
        while (keys[i] != EMPTY) {
            if (keys[i] == k) return;
            i = (i + 1) & mask;
        }
        keys[i] = k;
        values[i] = ((long) rank << 32) | (merged & 0xFFFFFFFFL);
    }

    /** rank << 32 | merged id, or -1 when the pair does not merge. */
    long get(int left, int right) {
        long k = key(left, right);
        int i = slot(k, mask);
        while (true) {
            long kk = keys[i];
            if (kk == k) return values[i];
            if (kk == EMPTY) return -1L;
            i = (i + 1) & mask;
        }
    }
}
