package org.redhare.core.matrix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.redhare.core.Parallel;

/**
 * Matrices built from stored bytes on several threads ({@link Repacking}) are the ones built on one: every row and every
 * product bit for bit. The shapes are large enough that each stage splits into several ranges (Repacking's grain is
 * about 256 KiB), and odd in rows, so a range ends inside a tile and the last tile is short.
 */
class RepackingTest {
    private static final Parallel POOL = new Parallel(3);

    @AfterAll
    static void close() {
        POOL.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q8_0/float", "Q4_0", "Q4_0/nibble", "Q5_0", "Q5_0/nibble", "Q4_1", "Q4_1/nibble", "Q5_1", "Q5_1/float", "IQ4_NL", "IQ4_NL/float"})
    void ggmlBlocksRepackTheSameOnSeveralThreads(String type) {
        assertSame(() -> GgmlMatrixTest.random(type, 1003, 2048, 7).m());
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q4_K", "Q4_K/nibble", "Q6_K", "Q6_K/float", "Q5_K", "Q5_K/float", "Q2_K", "Q2_K/float", "Q3_K", "Q3_K/float", "IQ4_XS", "IQ4_XS/float"})
    void superBlocksRepackTheSameOnSeveralThreads(String type) {
        assertSame(() -> GgmlMatrixTest.randomK(type, 1003, 2048, 11).m());
    }

    @Test
    void fp8RepacksTheSameOnSeveralThreads() {
        assertSame(() -> Fp8BlockMatrixTest.random(1003, 1100, 128, 128, 5).m());
    }

    @Test
    void bf16PanelsTheSameOnSeveralThreads() {
        int rows = 1003, cols = Bf16Matrix.PANEL + 300; // more than one panel: copied into panels at construction
        Random rnd = new Random(3);
        MemorySegment data = Arena.ofAuto().allocate(2L * rows * cols);
        for (long i = 0; i < (long) rows * cols; i++) {
            data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (rnd.nextInt(0x7F00) - (rnd.nextBoolean() ? 0x8000 : 0)));
        }
        assertSame(() -> new Bf16Matrix(data, rows, cols));
    }

    @ParameterizedTest // a NaN code far down (in a later range, in a vector of the scan) and one in a row's last columns (past the vectors)
    @org.junit.jupiter.params.provider.CsvSource({"900, 17, 255", "5, 1099, 127"})
    void aBadValueFoundOnAWorkerIsReportedToTheCaller(int row, int col, int code) {
        int rows = 1003, cols = 1100;
        MemorySegment codes = Arena.ofAuto().allocate((long) rows * cols);
        codes.set(ValueLayout.JAVA_BYTE, (long) row * cols + col, (byte) code);
        MemorySegment scales = Arena.ofAuto().allocate(8L * 9 * 4);
        for (int i = 0; i < 8 * 9; i++) {
            scales.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, 1f);
        }
        assertThatThrownBy(() -> Repacking.with(POOL, () -> new Fp8BlockMatrix(codes, scales, rows, cols, 128, 128)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[" + row + ", " + col + "]").hasMessageContaining("NaN");
    }

    private static void assertSame(Supplier<WeightMatrix> make) {
        WeightMatrix one = make.get();
        WeightMatrix several = Repacking.with(POOL, make);
        int rows = one.rows(), cols = one.cols();
        assertThat(several.rows()).isEqualTo(rows);
        float[] a = new float[cols], b = new float[cols];
        for (int r = 0; r < rows; r++) {
            one.row(r, a, 0);
            several.row(r, b, 0);
            for (int c = 0; c < cols; c++) {
                if (Float.floatToRawIntBits(a[c]) != Float.floatToRawIntBits(b[c])) {
                    throw new AssertionError(one.dtype() + " row " + r + " column " + c + ": " + a[c] + " on one thread, " + b[c] + " on several");
                }
            }
        }
        for (int n : new int[] {1, 5}) { // the one-token and several-token kernels read the repacked layout their own ways
            Random rnd = new Random(n);
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] ya = new float[n * rows], yb = new float[n * rows];
            one.multiply(POOL, x, n, ya);
            several.multiply(POOL, x, n, yb);
            assertThat(yb).as("%s x %d tokens", one.dtype(), n).containsExactly(ya);
        }
    }
}
