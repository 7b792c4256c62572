package org.redhare.core.matrix;

/**
 * Matrices that compute chosen rows for one token alone, with the bits {@link WeightMatrix#multiply} gives those rows
 * (each sums a row in one order whatever the batch and the rows beside it): what {@link ScreenedHead} needs of the head
 * it screens.
 */
sealed interface ExactRows permits Bf16Matrix, Fp8BlockMatrix, RowWidenedMatrix {
    /** {@code y[r]} for each row {@code r} of {@code ids[0 .. count)}, one token {@code x}; {@code scratch} holds at least {@code cols + 16} floats. */
    void multiplyRows(float[] x, int[] ids, int count, float[] y, float[] scratch);
}
