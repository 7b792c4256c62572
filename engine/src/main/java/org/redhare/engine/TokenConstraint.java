package org.redhare.engine;

/**
 * What tokens a sequence may produce next (constrained decoding, such as JSON that a schema describes). One instance
 * per sequence, used by the engine thread only: {@link #allows} is asked about sampled tokens (and, when a sampled one
 * is refused, about every token of the vocabulary), {@link #accept} is told each token taken.
 */
public interface TokenConstraint {
    /** Whether {@code token} may come next. */
    boolean allows(int token);

    /**
     * Marks in {@code out[0 .. vocab)} every token {@link #allows} would allow now; returns how many. Override it where
     * tokens can be judged together faster than one by one.
     */
    default int allowed(boolean[] out, int vocab) {
        int n = 0;
        for (int v = 0; v < vocab; v++) {
            out[v] = allows(v);
            if (out[v]) {
                n++;
            }
        }
        return n;
    }

    /** Records the token taken (one {@link #allows} said yes to). */
    void accept(int token);

    /** Whether the text is whole: the generation then ends (reason {@code STOP}) without waiting for an end token. */
    boolean complete();
}
