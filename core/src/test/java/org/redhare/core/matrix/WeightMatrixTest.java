package org.redhare.core.matrix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;

/** Every weight-matrix kernel against a plain double-precision reference, on shapes that are not multiples of the vector width. */
class WeightMatrixTest {
    private static final Parallel ONE = new Parallel(1);
    private static final Parallel THREE = new Parallel(3);

    @AfterAll
    static void close() {
        ONE.close();
        THREE.close();
    }

    static WeightMatrix make(DType dtype, float[] w, int rows, int cols) {
        MemorySegment seg = Arena.ofAuto().allocate((long) rows * cols * (dtype == DType.F32 ? 4 : 2));
        for (int i = 0; i < w.length; i++) {
            switch (dtype) {
                case F32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, w[i]);
                case BF16 -> {
                    short b = Numbers.floatToBf16(w[i]);
                    seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, b);
                    w[i] = Numbers.bf16ToFloat(b); // reference uses the stored value
                }
                case F16 -> {
                    short b = Float.floatToFloat16(w[i]);
                    seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, b);
                    w[i] = Float.float16ToFloat(b);
                }
                default -> throw new IllegalArgumentException();
            }
        }
        return switch (dtype) {
            case F32 -> new F32Matrix(seg, rows, cols);
            case BF16 -> new Bf16Matrix(seg, rows, cols);
            case F16 -> new F16Matrix(seg, rows, cols);
            default -> throw new IllegalArgumentException();
        };
    }

    @Test
    void f16TileGroupsKernelRefusesRowsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        MemorySegment halves = Arena.ofAuto().allocate(5 * 128 * 2); // five rows of 128 halves, all zero
        float[] buf = new float[4 * 160 + 2 * 320 + 40 + 2 * 4 * 128];
        int panels = 4 * 160 + 640 + 40;
        NativeKernels.f16TileGroups(halves, true, 0, 128, 4, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0);
        assertThat(java.util.Arrays.copyOfRange(buf, 0, 640)).containsOnly(0f); // zero halves widen to zeros
        assertThat(java.util.Arrays.copyOfRange(buf, 1280, 1320)).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.f16TileGroups(halves, false, 0, 128, 4, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // as floats, the rows run past the segment
        assertThatThrownBy(() -> NativeKernels.f16TileGroups(halves, true, 1, 128, 4, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // rows 1 .. 5: one row past the segment
        assertThatThrownBy(() -> NativeKernels.f16TileGroups(halves, true, 0, 128, 3, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // half a 64-column group
        assertThatThrownBy(() -> NativeKernels.f16TileGroups(halves, true, 0, 128, 4, 2, buf, panels, 128, buf, 0, 500, 1280, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // accumulators over the tile
    }

    @ParameterizedTest(name = "{0} [{1} x {2}] x {3} tokens")
    @CsvSource({
            "F32, 5, 1, 1", "F32, 33, 17, 3", "F32, 64, 128, 5", "F32, 19, 100, 9", "F32, 21, 100, 37", "F32, 9, 2600, 23",
            "BF16, 5, 1, 1", "BF16, 7, 31, 2", "BF16, 33, 33, 1", "BF16, 64, 128, 4", "BF16, 21, 257, 7", "BF16, 130, 96, 13", "BF16, 8, 64, 3", "BF16, 12, 40, 6", "BF16, 21, 100, 37", "BF16, 9, 640, 18", "BF16, 9, 2600, 23", "BF16, 11, 4200, 37", "BF16, 6, 4136, 5", "BF16, 7, 4096, 1", "BF16, 300, 2100, 1",
            "F16, 5, 1, 1", "F16, 7, 31, 2", "F16, 33, 65, 1", "F16, 64, 128, 4", "F16, 21, 257, 7", "F16, 130, 96, 13", "F16, 21, 100, 37", "F16, 9, 640, 18", "F16, 9, 2600, 23", "F16, 12, 40, 6",
    })
    void multiplyMatchesScalarReference(DType dtype, int rows, int cols, int n) {
        Random rnd = new Random(rows * 31L + cols * 7L + n);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * (i % 97 == 3 ? 3e-5f : 0.5f); // some below 2^-14: subnormal in F16
        }
        w[0] = 1e-6f; // a subnormal in F16
        WeightMatrix m = make(dtype, w, rows, cols);
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * (i % 5 == 0 ? 30 : 1);
        }
        for (Parallel pool : new Parallel[] {ONE, THREE}) {
            float[] y = new float[n * rows];
            m.multiply(pool, x, n, y);
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < rows; r++) {
                    double ref = 0;
                    double mag = 0;
                    for (int c = 0; c < cols; c++) {
                        ref += (double) w[r * cols + c] * x[t * cols + c];
                        mag += Math.abs((double) w[r * cols + c] * x[t * cols + c]);
                    }
                    assertThat((double) y[t * rows + r]).as("row %d token %d", r, t).isCloseTo(ref, org.assertj.core.data.Offset.offset(1e-5 * mag + 1e-6));
                }
            }
        }
        float[] row = new float[cols];
        m.row(rows - 1, row, 0);
        for (int c = 0; c < cols; c++) {
            assertThat(row[c]).isEqualTo(w[(rows - 1) * cols + c]);
        }
    }

    /**
     * The server batches requests together, so a token's result must not depend on the batch: every
     * kernel must give bitwise the same output for a token computed alone, in any batch size, at any
     * position in the batch, with any thread count.
     */
    @ParameterizedTest(name = "{0} [{1} x {2}]")
    @CsvSource({"F32, 37, 100", "F32, 40, 600", "F32, 10, 2600", "BF16, 37, 100", "BF16, 64, 96", "BF16, 40, 600", "BF16, 10, 2600", "BF16, 10, 4200", "BF16, 270, 2100", "BF16, 9, 33", "BF16, 4, 31", "BF16, 13, 200", "F16, 37, 100", "F16, 11, 64", "F16, 40, 600", "F16, 10, 2600", "F16, 9, 33", "F16, 4, 31"})
    void resultsDoNotDependOnTheBatch(DType dtype, int rows, int cols) {
        Random rnd = new Random(rows * 131L + cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        WeightMatrix m = make(dtype, w, rows, cols);
        int maxN = 40; // crosses every kernel switch (1; 2..7 streaming; 8+ widened tiles, split rows up to 32 tokens)
        float[] x = new float[maxN * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * (i % 7 == 0 ? 50 : 1);
        }
        float[][] alone = new float[maxN][rows];
        for (int t = 0; t < maxN; t++) {
            m.multiply(ONE, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, alone[t]);
        }
        for (Parallel pool : new Parallel[] {ONE, THREE}) {
            for (int n = 1; n <= maxN; n++) {
                for (int start = 0; start + n <= maxN; start += Math.max(1, n - 1)) {
                    float[] y = new float[n * rows];
                    m.multiply(pool, java.util.Arrays.copyOfRange(x, start * cols, (start + n) * cols), n, y);
                    for (int t = 0; t < n; t++) {
                        float[] got = java.util.Arrays.copyOfRange(y, t * rows, (t + 1) * rows);
                        assertThat(got).as("token %d of a batch of %d starting at %d, %d threads", start + t, n, start, pool.threads())
                                .containsExactly(alone[start + t]);
                    }
                }
            }
        }
    }

    /**
     * Prompt-sized batches (from 64 tokens the activations are reordered and packed over the threads, each chunk of token
     * groups its own): every token's row equals the token alone, for token counts that are and are not multiples of four.
     */
    @ParameterizedTest(name = "{0} [{1} x {2}]")
    @CsvSource({"BF16, 37, 100", "BF16, 10, 2600", "BF16, 21, 64", "F16, 37, 100", "F16, 10, 2600", "F32, 21, 100"})
    void promptBatchesPackedOverThreadsKeepTheBits(DType dtype, int rows, int cols) {
        Random rnd = new Random(rows * 7L + cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        WeightMatrix m = make(dtype, w, rows, cols);
        for (int n : new int[] {64, 66, 67, 129}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] y = new float[n * rows];
            m.multiply(THREE, x, n, y);
            for (int t = 0; t < n; t++) {
                float[] alone = new float[rows];
                m.multiply(ONE, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, alone);
                assertThat(java.util.Arrays.copyOfRange(y, t * rows, (t + 1) * rows)).as("token %d of %d", t, n).containsExactly(alone);
            }
        }
    }

    /**
     * F16 and F32 rows of whole 32-column blocks run the machine code ({@link NativeKernels#f16Tokens}) for 1 to 16 tokens
     * wherever it can run: the same bits as the Java kernels ({@link RowWidenedMatrix#multiplyInJava}), with subnormal
     * halves among the weights, rows left over past the last four, more rows than one call takes, every group size and
     * more than one group, one and three threads; a row with a column tail keeps the Java path. With 8-float vectors (the
     * build's 256-bit pass) F16 rows of whole 16-column blocks run {@link Avx2Kernels#f16Tokens} where the CPU has AVX2:
     * 80 columns, five blocks; 1040, two column chunks of 512 and a last block alone.
     */
    @ParameterizedTest(name = "{0} [{1} x {2}]")
    @CsvSource({"F16, 37, 96", "F16, 1030, 64", "F16, 8, 2560", "F16, 9, 100", "F32, 37, 96", "F32, 1029, 32", "F16, 13, 80",
            "F16, 6, 1040"})
    void tokensGiveTheJavaKernelsBits(DType dtype, int rows, int cols) {
        boolean on = Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true")) && org.redhare.core.MachineCode.unavailable() == null;
        if (on && org.redhare.core.MachineCode.cpuHas("avx512f") && org.redhare.core.MachineCode.cpuHas("avx512bw") && Kernels.L == 16) {
            assertThat(NativeKernels.available()).as(NativeKernels.status()).isTrue();
        }
        if (on && org.redhare.core.MachineCode.cpuHas("avx2") && org.redhare.core.MachineCode.cpuHas("fma")
                && org.redhare.core.MachineCode.cpuHas("f16c") && Kernels.L == 8) {
            assertThat(Avx2Kernels.f16Available()).as(Avx2Kernels.status()).isTrue();
        }
        Random rnd = new Random(rows * 5L + cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * (i % 7 == 0 ? 1e-6 : 0.05)); // every seventh below F16's smallest normal (2^-14)
        }
        RowWidenedMatrix m = (RowWidenedMatrix) make(dtype, w, rows, cols);
        for (int n : new int[] {1, 2, 3, 4, 5, 6, 7, 10, 11, 16}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] java = new float[n * rows];
            m.multiplyInJava(ONE, x, n, java);
            for (Parallel pool : new Parallel[] {ONE, THREE}) {
                float[] y = new float[n * rows];
                m.multiply(pool, x, n, y);
                assertThat(y).as("%d tokens, %d threads", n, pool.threads()).isEqualTo(java);
            }
        }
    }

    /** {@link NativeKernels#f16Tokens} checks its operands before the machine code runs (it checks nothing). */
    @org.junit.jupiter.api.Test
    void f16TokensKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        MemorySegment rows = Arena.ofAuto().allocate(8 * 64 * 2, 64); // eight F16 rows of 64
        float[] x = new float[2 * 64], y = new float[10 + 8], scratch = new float[2 * 64 + 15];
        NativeKernels.f16Tokens(rows, true, 0, 2, false, 64, 2, 10, x, y, 0, scratch, 4096); // in bounds: zero rows give zeros
        assertThat(y).containsOnly(0f);
        java.util.Arrays.fill(y, 1f);
        NativeKernels.f16Tokens(rows, true, 0, 2, true, 64, 2, 10, x, y, 0, scratch, 4096); // spread: rows k + 2j, the same eight
        assertThat(java.util.Arrays.copyOfRange(y, 0, 8)).containsOnly(0f);
        assertThat(java.util.Arrays.copyOfRange(y, 10, 18)).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.f16Tokens(rows, false, 0, 2, false, 64, 2, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // as F32: past the rows
        assertThatThrownBy(() -> NativeKernels.f16Tokens(rows, true, 4, 2, false, 64, 2, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the rows
        assertThatThrownBy(() -> NativeKernels.f16Tokens(rows, true, 0, 2, false, 64, 2, 10, x, y, 1, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's outputs past y
        assertThatThrownBy(() -> NativeKernels.f16Tokens(rows, true, 0, 2, false, 64, 2, 7, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // tokens' outputs overlapping
        assertThatThrownBy(() -> NativeKernels.f16Tokens(rows, true, 0, 2, false, 64, 3, 10, x, new float[40], 0, new float[3 * 64 + 15], 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // a third token past the activations
        assertThatThrownBy(() -> NativeKernels.f16Tokens(rows, true, 0, 2, false, 64, 2, 10, x, y, 0, new float[2 * 64], 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // no room to align the copy
        assertThatThrownBy(() -> NativeKernels.f16Tokens(rows, true, 0, 1, false, 48, 1, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole blocks
        assertThatThrownBy(() -> NativeKernels.f16Tokens(MemorySegment.ofArray(new byte[1024]), true, 0, 2, false, 64, 2, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not native memory
    }

    /** {@link Avx2Kernels#f16Tokens} (F16, blocks of 16 columns) checks its operands the same way. */
    @org.junit.jupiter.api.Test
    void avx2F16TokensKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Avx2Kernels.f16Available(), Avx2Kernels.status());
        MemorySegment rows = Arena.ofAuto().allocate(8 * 48 * 2, 64); // eight F16 rows of 48: three blocks of 16
        float[] x = new float[2 * 48], y = new float[10 + 8], scratch = new float[2 * 48 + 15];
        java.util.Arrays.fill(y, 1f);
        Avx2Kernels.f16Tokens(rows, 0, 2, false, 48, 2, 10, x, y, 0, scratch, 4096); // in bounds: zero rows give zeros
        assertThat(java.util.Arrays.copyOfRange(y, 0, 8)).containsOnly(0f);
        assertThat(java.util.Arrays.copyOfRange(y, 10, 18)).containsOnly(0f);
        java.util.Arrays.fill(y, 1f);
        Avx2Kernels.f16Tokens(rows, 0, 2, true, 48, 2, 10, x, y, 0, scratch, 4096); // spread: rows k + 2j, the same eight
        assertThat(java.util.Arrays.copyOfRange(y, 0, 8)).containsOnly(0f);
        assertThatThrownBy(() -> Avx2Kernels.f16Tokens(rows, 4, 2, false, 48, 2, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the rows
        assertThatThrownBy(() -> Avx2Kernels.f16Tokens(rows, 0, 2, false, 48, 2, 10, x, y, 1, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's outputs past y
        assertThatThrownBy(() -> Avx2Kernels.f16Tokens(rows, 0, 2, false, 48, 2, 7, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // tokens' outputs overlapping
        assertThatThrownBy(() -> Avx2Kernels.f16Tokens(rows, 0, 2, false, 48, 2, 10, x, y, 0, new float[2 * 48 + 14], 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // no room to align the copy
        assertThatThrownBy(() -> Avx2Kernels.f16Tokens(rows, 0, 1, false, 40, 1, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole blocks
        assertThatThrownBy(() -> Avx2Kernels.f16Tokens(MemorySegment.ofArray(new byte[1024]), 0, 2, false, 48, 2, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not native memory
    }

    @org.junit.jupiter.api.Test
    void rejectsWrongSizes() {
        MemorySegment seg = Arena.ofAuto().allocate(10);
        assertThatThrownBy(() -> new Bf16Matrix(seg, 2, 3)).hasMessageContaining("needs 12 bytes");
        WeightMatrix m = make(DType.F32, new float[6], 2, 3);
        assertThatThrownBy(() -> m.multiply(ONE, new float[2], 1, new float[2])).hasMessageContaining("input holds 2 floats");
    }
}
