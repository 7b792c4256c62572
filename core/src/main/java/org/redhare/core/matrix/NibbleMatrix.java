package org.redhare.core.matrix;

/**
 * The weight matrices whose products {@link NibbleBlocks} computes (Q4_0, Q4_1 and Q4_K, Q5_0): what tests ask of them
 * besides {@link WeightMatrix}.
 */
sealed interface NibbleMatrix extends WeightMatrix permits Q4_0Matrix, Q4_KMatrix, Q5_0Matrix {
    /** The kernels' state. */
    NibbleBlocks blocks();

    /** {@link #multiply} in Java even where the machine code runs (tests compare the two). */
    default void multiplyInJava(org.redhare.core.Parallel pool, float[] x, int n, float[] y) {
        MatrixChecks.operands(this, x, n, y);
        blocks().multiply(pool, x, n, y, false);
    }

    /** Whether the products run in machine code ({@link NativeKernels#nibbleTokens}) here. */
    default boolean nativeTokens() {
        return blocks().nativeTokens();
    }
}
