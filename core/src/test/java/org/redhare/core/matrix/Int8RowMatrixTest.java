package org.redhare.core.matrix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.Parallel;

/**
 * The LM head screen's int8 rows against a scalar reference that fixes every bit: each of the vector's lanes takes its
 * FMAs in the kernel's order, the lanes are added in {@code VectorMath.sum}'s tree, then the tail and the row's scale.
 * On AVX-512 hosts the product runs in machine code ({@link NativeKernels}), with 8-float vectors on AVX2 ones too ({@link
 * Avx2Kernels#int8}), elsewhere in Java; all must give these bits. Where the AVX2 machine code can run it must be on,
 * so this cannot pass by leaving it out.
 */
class Int8RowMatrixTest {
    private static final Parallel ONE = new Parallel(1);
    private static final Parallel TWO = new Parallel(2);

    @AfterAll
    static void close() {
        ONE.close();
        TWO.close();
    }

    @ParameterizedTest(name = "[{0} x {1}]")
    @CsvSource({"4, 64", "37, 333", "130, 896", "9, 40", "64, 1000", "257, 7168", "3, 128", "1, 70"})
    void matchesTheBitExactScalarReference(int rows, int cols) {
        if (org.redhare.core.MachineCode.unavailable() == null && org.redhare.core.MachineCode.cpuHas("avx2") && Kernels.L == 8
                && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) {
            assertThat(Avx2Kernels.int8Available()).as(Avx2Kernels.status()).isTrue();
        }
        Random rnd = new Random(rows * 1000L + cols);
        byte[] codes = new byte[rows * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) (rnd.nextInt(255) - 127);
        }
        float[] scales = new float[rows];
        for (int r = 0; r < rows; r++) {
            scales[r] = 0.001f + rnd.nextFloat() * 0.01f;
        }
        MemorySegment plain = Arena.ofAuto().allocate(codes.length);
        MemorySegment.copy(codes, 0, plain, ValueLayout.JAVA_BYTE, 0, codes.length);
        MemorySegment packed = Arena.ofAuto().allocate(codes.length, 64);
        QuantKernels.repackBytes(plain, packed, rows, cols);
        Int8RowMatrix m = new Int8RowMatrix(packed, scales, rows, cols);
        int n = 2;
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (Parallel pool : new Parallel[] {ONE, TWO}) {
            float[] y = new float[n * rows];
            m.multiply(pool, x, n, y);
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < rows; r++) {
                    assertThat(y[t * rows + r]).as("token %d row %d, %d threads", t, r, pool.threads())
                            .isEqualTo(reference(codes, scales, rows, cols, r, x, t * cols));
                }
            }
        }
    }

    /** Row {@code r} times {@code x[xo ..]} in exactly the kernel's order of operations. */
    static float reference(byte[] codes, float[] scales, int rows, int cols, int r, float[] x, int xo) {
        final int lanes = Kernels.L;
        final int group = 4 * lanes;
        final int full = cols / group * group;
        if (r >= rows / QuantKernels.TILE * QuantKernels.TILE) { // a short last tile: the row widened, then a plain sum
            float s = 0f;
            for (int c = 0; c < cols; c++) {
                s += codes[r * cols + c] * scales[r] * x[xo + c];
            }
            return s;
        }
        float[] acc = new float[lanes];
        for (int c = 0; c < full; c += group) {
            for (int b = 0; b < 4; b++) {
                for (int l = 0; l < lanes; l++) {
                    int col = c + b * lanes + l;
                    acc[l] = Math.fma((float) codes[r * cols + col], x[xo + col], acc[l]);
                }
            }
        }
        for (int step = lanes / 2; step >= 1; step /= 2) { // VectorMath.sum: lane i + lane i + step, halving
            for (int l = 0; l < step; l++) {
                acc[l] = acc[l] + acc[l + step];
            }
        }
        float tail = 0f;
        for (int c = full; c < cols; c++) {
            tail += codes[r * cols + c] * x[xo + c];
        }
        return (acc[0] + tail) * scales[r];
    }

    /** {@link Avx2Kernels#int8} checks its operands before the machine code runs (it checks nothing). */
    @Test
    void avx2KernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Avx2Kernels.int8Available(), Avx2Kernels.status());
        MemorySegment codes = Arena.ofAuto().allocate(4 * 64 * 2, 64); // two tiles of 64 columns
        float[] buf = new float[64 + 8];
        java.util.Arrays.fill(buf, 64, 72, 1f);
        Avx2Kernels.int8(codes, 0, 2, 64, 64, buf, 0, 64, -4096); // in bounds: zero codes give zero sums
        assertThat(java.util.Arrays.copyOfRange(buf, 64, 72)).containsOnly(0f);
        assertThatThrownBy(() -> Avx2Kernels.int8(codes, 0, 3, 64, 64, buf, 0, 64, -4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // a third tile past the codes and the sums' room
        assertThatThrownBy(() -> Avx2Kernels.int8(codes, 256, 2, 64, 64, buf, 0, 64, -4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the codes
        assertThatThrownBy(() -> Avx2Kernels.int8(codes, 0, 2, 64, 64, buf, 16, 0, -4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // sums over the activations
        assertThatThrownBy(() -> Avx2Kernels.int8(codes, 0, 2, 64, 48, buf, 0, 64, -4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole groups of 32 columns
        assertThatThrownBy(() -> Avx2Kernels.int8(codes, 0, 2, 64, 96, buf, 0, 64, -4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // more columns than a row has
        assertThatThrownBy(() -> Avx2Kernels.int8(MemorySegment.ofArray(new byte[512]), 0, 2, 64, 64, buf, 0, 64, -4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not native memory
    }
}
