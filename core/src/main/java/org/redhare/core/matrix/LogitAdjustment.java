package org.redhare.core.matrix;

/**
 * What the caller does to some logits after the LM head, such as a sampler's repetition, presence and frequency
 * penalties: it changes the rows {@code row(0) .. row(count() - 1)} (distinct) and no others, each by
 * {@link #apply}, which must not decrease as the logit grows, so that a bound on a logit is a bound on what it becomes.
 * {@link ScreenedHead#topLogits(org.redhare.core.Parallel, float[], int, float[], LogitAdjustment)} uses it to keep the
 * largest logits after the change exact.
 */
public interface LogitAdjustment {
    /** How many rows the adjustment changes. */
    int count();

    /** The {@code i}-th row it changes. */
    int row(int i);

    /** What logit {@code logit} of row {@code row} becomes: non-decreasing in {@code logit}, bit for bit what the caller computes. */
    float apply(int row, float logit);
}
