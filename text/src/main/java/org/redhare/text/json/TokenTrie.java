package org.redhare.text.json;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The tokens of a vocabulary by their bytes, as a trie, so that {@link JsonMatcher#allowed} checks the bytes that tokens
 * share once: a refused first byte rules out every token that starts with it at one step.
 *
 * <p>Laid out flat: node 0 is the root; a node's children are {@code childStart[n] .. childStart[n] + childCount[n]}, in
 * byte order, each with its {@code label} byte; the tokens whose bytes end at a node are {@code ids[tokenStart[n] ..
 * tokenStart[n + 1])}.
 */
public final class TokenTrie {
    final int[] childStart;
    final int[] childCount;
    final byte[] label;
    final int[] tokenStart;
    final int[] ids;

    private TokenTrie(int[] childStart, int[] childCount, byte[] label, int[] tokenStart, int[] ids) {
        this.childStart = childStart;
        this.childCount = childCount;
        this.label = label;
        this.tokenStart = tokenStart;
        this.ids = ids;
    }

    /** The trie of {@code tokens[id]} for every id whose entry is not null or empty. */
    public static TokenTrie of(byte[][] tokens) {
        Integer[] order = new Integer[tokens.length];
        int n = 0;
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] != null && tokens[id].length > 0) {
                order[n++] = id;
            }
        }
        Integer[] sorted = Arrays.copyOf(order, n);
        Arrays.sort(sorted, Comparator.comparing((Integer id) -> tokens[id], Arrays::compareUnsigned).thenComparing(id -> id));
        // Breadth-first over ranges of the sorted tokens that share a prefix: each node is a range [lo, hi) at depth d.
        int cap = 1024;
        int[] lo = new int[cap], hi = new int[cap], depth = new int[cap];
        int[] childStart = new int[cap], childCount = new int[cap];
        byte[] label = new byte[cap];
        int[] tokenEnd = new int[cap]; // within a node's range, the tokens of exactly its depth come first
        lo[0] = 0;
        hi[0] = n;
        depth[0] = 0;
        int nodes = 1;
        for (int node = 0; node < nodes; node++) {
            int d = depth[node];
            int i = lo[node];
            while (i < hi[node] && tokens[sorted[i]].length == d) {
                i++;
            }
            tokenEnd[node] = i;
            childStart[node] = nodes;
            while (i < hi[node]) {
                byte b = tokens[sorted[i]][d];
                int j = i;
                while (j < hi[node] && tokens[sorted[j]][d] == b) {
                    j++;
                }
                if (nodes == cap) {
                    cap *= 2;
                    lo = Arrays.copyOf(lo, cap);
                    hi = Arrays.copyOf(hi, cap);
                    depth = Arrays.copyOf(depth, cap);
                    childStart = Arrays.copyOf(childStart, cap);
                    childCount = Arrays.copyOf(childCount, cap);
                    label = Arrays.copyOf(label, cap);
                    tokenEnd = Arrays.copyOf(tokenEnd, cap);
                }
                lo[nodes] = i;
                hi[nodes] = j;
                depth[nodes] = d + 1;
                label[nodes] = b;
                nodes++;
                i = j;
            }
            childCount[node] = nodes - childStart[node];
        }
        int[] tokenStart = new int[nodes + 1];
        int[] ids = new int[n];
        int k = 0;
        for (int node = 0; node < nodes; node++) {
            tokenStart[node] = k;
            for (int i = lo[node]; i < tokenEnd[node]; i++) {
                ids[k++] = sorted[i];
            }
        }
        tokenStart[nodes] = k;
        return new TokenTrie(Arrays.copyOf(childStart, nodes), Arrays.copyOf(childCount, nodes), Arrays.copyOf(label, nodes), tokenStart, ids);
    }

    /** How many nodes (for tests and sizing). */
    public int nodes() {
        return childStart.length;
    }
}
