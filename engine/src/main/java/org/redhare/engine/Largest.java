package org.redhare.engine;

/** The k largest values of a logits row, for top-k sampling and top logprobs (k is small: a sorted insertion). */
final class Largest {
    private Largest() {}

    /**
     * Writes the {@code k} largest of {@code x[off .. off+len)} into {@code values[0 .. n)}, descending, and their
     * indices into {@code ids}; equal values keep the lower index first, NaN never enters. Returns {@code n}, which is
     * {@code k} unless the row has fewer values that are not NaN.
     */
    static int of(float[] x, int off, int len, int k, int[] ids, float[] values) {
        int n = 0;
        for (int i = 0; i < len; i++) {
            float v = x[off + i];
            if (v != v || (n == k && !(v > values[k - 1]))) {
                continue;
            }
            int j = n == k ? k - 1 : n++;
            while (j > 0 && v > values[j - 1]) {
                values[j] = values[j - 1];
                ids[j] = ids[j - 1];
                j--;
            }
            values[j] = v;
            ids[j] = i;
        }
        return n;
    }
}
