package org.redhare.core.matrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Helpers shared by the quantized kernels ({@link Fp8BlockMatrix}, {@link Q8_0Matrix}, {@link Q4Matrix}).
 *
 * <p><b>Batch invariance.</b> Every quantized kernel computes each (row, token) result with one vector
 * accumulator fed in column order, then {@link #sum} adds its lanes left to right, then the scalar
 * column tail is added. The single-token and the batched paths only differ in how many (row, token)
 * pairs share one widened weight vector, so a token's result is bitwise the same whatever the batch,
 * the thread count, or whether the method is interpreted or compiled ({@code reduceLanes} leaves the
 * order unspecified, which is why it is not used).
 */
final class QuantKernels {
    private QuantKernels() {}

    /** Rows stored together as one sequential stream, and computed together. */
    static final int TILE = 4;

    /** Lanes of {@code v} summed in index order (deterministic, see the class comment). */
    static float sum(FloatVector v, float[] buf, int off) {
        v.intoArray(buf, off);
        float s = 0f;
        for (int i = 0; i < Kernels.L; i++) {
            s += buf[off + i];
        }
        return s;
    }

    /** Floats of lane scratch each worker needs. */
    static int laneScratch() {
        return Kernels.L;
    }

    /** Grain in tiles for splitting {@code rows} over the pool's threads. */
    static int tileGrain(int rows, int threads) {
        int tiles = (rows + TILE - 1) / TILE;
        return Math.max(1, (tiles + threads * 4 - 1) / (threads * 4));
    }

    static MemorySegment allocate(long bytes) {
        return Arena.ofAuto().allocate(Math.max(bytes, 1), 64);
    }
}
