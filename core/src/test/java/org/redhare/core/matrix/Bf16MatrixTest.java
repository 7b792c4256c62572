package org.redhare.core.matrix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.MachineCode;
import org.redhare.core.DType;
import org.redhare.core.Parallel;

/**
 * BF16 products against a scalar reference that fixes every bit (the order the class documents: one L-lane accumulator
 * per row and token over the 2L-column blocks, even columns' FMA then odd, the lanes added in {@code VectorMath.sum}'s
 * tree, then the tail columns in order), for token counts that take every path: one token, the streaming pass, the
 * few-token pass and the prompt pass, the last two in machine code on AVX-512 hosts ({@link NativeKernels}), every
 * count from two in machine code with 8-float vectors where the CPU has AVX2 ({@link Avx2Kernels}, the build's 256-bit
 * pass), and in Java elsewhere.
 */
class Bf16MatrixTest {
    private static final Parallel ONE = new Parallel(1);
    private static final Parallel THREE = new Parallel(3);

    @AfterAll
    static void close() {
        ONE.close();
        THREE.close();
    }

    /** Where the machine code can run it must be on, so these tests cannot pass by leaving it out. */
    @Test
    void machineCodeIsOnWhereItCanRun() {
        if (MachineCode.unavailable() == null && MachineCode.cpuHas("avx512f") && Kernels.L == 16
                && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) {
            assertThat(NativeKernels.available()).as(NativeKernels.status()).isTrue();
        }
        if (MachineCode.unavailable() == null && MachineCode.cpuHas("avx2") && MachineCode.cpuHas("fma") && MachineCode.cpuHas("f16c")
                && Kernels.L == 8 && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) {
            assertThat(Avx2Kernels.bf16Available()).as(Avx2Kernels.status()).isTrue();
        }
    }

    // 163 rows: 32 five-row tiles (two runs of the machine code on one thread) and three rows over; 1000 columns: a tail;
    // 1700 columns: two column chunks; 2600: two panels, the first in two chunks, and prompts of 129 and 130 tokens in two
    // token blocks (100 tokens a block at 2600 columns); 4160: three panels of whole blocks (the few-token machine code
    // carries its accumulators across them), 21 rows: five quads and a row over. With 8-float vectors (AVX2) the machine
    // code takes rows of whole 16-column blocks: 48 columns, three blocks; 2320, a panel of 2048 and one of 272.
    @ParameterizedTest(name = "[{0} x {1}]")
    @CsvSource({"163, 896", "101, 1000", "5, 64", "84, 1536", "33, 40", "12, 31", "400, 128", "31, 1700", "23, 2600", "21, 4160",
            "9, 48", "14, 2320"})
    void everyTokenCountGivesTheReferenceBits(int rows, int cols) {
        Random rnd = new Random(rows * 1009L + cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        WeightMatrix m = WeightMatrixTest.make(DType.BF16, w, rows, cols); // w becomes the stored BF16 values
        for (int n : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 11, 16, 17, 18, 32, 33, 50, 129, 130}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian() * (i % 7 == 0 ? 20 : 1);
            }
            for (Parallel pool : new Parallel[] {ONE, THREE}) {
                float[] y = new float[n * rows];
                m.multiply(pool, x, n, y);
                for (int t = 0; t < n; t++) {
                    for (int r = 0; r < rows; r++) {
                        assertThat(y[t * rows + r]).as("row %d token %d of %d, %d threads", r, t, n, pool.threads())
                                .isEqualTo(reference(w, r, cols, x, t * cols));
                    }
                }
            }
        }
    }

    /** The documented order, scalar: lane l of block b takes columns 2Lb + 2l (even) and 2Lb + 2l + 1 (odd). */
    private static float reference(float[] w, int r, int cols, float[] x, int xo) {
        final int lanes = Kernels.L;
        final int full = cols / (2 * lanes) * (2 * lanes);
        float[] acc = new float[lanes];
        for (int b = 0; b < full; b += 2 * lanes) {
            for (int l = 0; l < lanes; l++) {
                int c = b + 2 * l;
                acc[l] = Math.fma(w[r * cols + c], x[xo + c], acc[l]);
                acc[l] = Math.fma(w[r * cols + c + 1], x[xo + c + 1], acc[l]);
            }
        }
        for (int h = Math.min(lanes, 16) / 2; h >= 1; h /= 2) { // VectorMath.sum: lane i + lane i + h, halving h
            float[] next = new float[lanes];
            for (int i = 0; i < lanes; i++) {
                next[i] = acc[i] + acc[(i + h) % lanes];
            }
            acc = next;
        }
        float s = acc[0];
        for (int c = full; c < cols; c++) {
            s += w[r * cols + c] * x[xo + c];
        }
        return s;
    }

    /** A several-token BF16 kernel's Java entry: {@link NativeKernels#bf16Tokens} or {@link Avx2Kernels#bf16Tokens}. */
    @FunctionalInterface
    private interface TokensKernel {
        void run(MemorySegment data, int rows, int first, int quads, boolean spread, int cols, int panel, int n, int stride, float[] x,
                int xo, float[] y, int yo, float[] scratch);
    }

    /** {@link NativeKernels#bf16Tokens} checks its operands as {@link NativeKernels#bf16Tiles} does. */
    @Test
    void fewTokenKernelRefusesOperandsOutsideItsMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        tokensRefuseOperandsOutsideTheirMemory(32, (data, rows, first, quads, spread, cols, panel, n, stride, x, xo, y, yo, scratch) -> {
            if (xo != 0) { // the AVX-512 entry takes the activations from the array's start
                throw new IndexOutOfBoundsException("no offset");
            }
            NativeKernels.bf16Tokens(data, rows, first, quads, spread, cols, panel, n, stride, x, y, yo, scratch, 0);
        });
    }

    /** {@link Avx2Kernels#bf16Tokens} (blocks of 16 columns) checks its operands the same way. */
    @Test
    void avx2TokensKernelRefusesOperandsOutsideItsMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Avx2Kernels.bf16Available(), Avx2Kernels.status());
        tokensRefuseOperandsOutsideTheirMemory(16, (data, rows, first, quads, spread, cols, panel, n, stride, x, xo, y, yo, scratch) ->
                Avx2Kernels.bf16Tokens(data, rows, first, quads, spread, cols, panel, n, stride, x, xo, y, yo, scratch, 0));
        MemorySegment rows = Arena.ofAuto().allocate(8 * 96, 64); // eight rows of 48 columns: three blocks of 16
        float[] x = new float[2 * 48 + 48];
        float[] y = new float[2 * 8];
        java.util.Arrays.fill(y, 1f);
        Avx2Kernels.bf16Tokens(rows, 8, 0, 2, false, 48, 2048, 2, 8, x, 48, y, 0, new float[2 * 48 + 15], 0); // activations from an offset
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> Avx2Kernels.bf16Tokens(rows, 8, 0, 2, false, 48, 2048, 2, 8, x, 49, y, 0, new float[2 * 48 + 15], 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the offset's activations past their array
        assertThatThrownBy(() -> Avx2Kernels.bf16Tokens(rows, 8, 0, 2, false, 48, 2048, 2, 8, x, -1, y, 0, new float[2 * 48 + 15], 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // a negative offset
        assertThatThrownBy(() -> Avx2Kernels.bf16Tokens(rows, 8, 0, 2, false, 40, 2048, 2, 8, x, 0, y, 0, new float[2 * 48 + 15], 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // rows of part of a block
    }

    /** The checks both entries share, on eight rows of 32 columns (two quads), with the entry's {@code block} of columns. */
    private static void tokensRefuseOperandsOutsideTheirMemory(int block, TokensKernel kernel) {
        MemorySegment rows = Arena.ofAuto().allocate(8 * 64, 64);
        float[] x = new float[3 * 32];
        float[] y = new float[3 * 8];
        java.util.Arrays.fill(y, 1f);
        float[] scratch = new float[3 * 32 + 15];
        kernel.run(rows, 8, 0, 2, false, 32, 2048, 3, 8, x, 0, y, 0, scratch); // in bounds: zero rows give zero sums
        assertThat(y).containsOnly(0f);
        java.util.Arrays.fill(y, 1f);
        kernel.run(rows, 8, 0, 2, true, 32, 2048, 3, 8, x, 0, y, 0, scratch); // spread: rows k + 2j, the same eight
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> kernel.run(rows, 8, 4, 2, false, 32, 2048, 3, 8, x, 0, y, 0, scratch))
                .isInstanceOf(IndexOutOfBoundsException.class); // the second quad past the rows
        assertThatThrownBy(() -> kernel.run(rows, 9, 0, 2, false, 32, 2048, 3, 8, x, 0, y, 0, scratch))
                .isInstanceOf(IndexOutOfBoundsException.class); // more rows than the memory holds
        assertThatThrownBy(() -> kernel.run(rows, 8, 0, 2, false, 32, 2048, 3, 8, x, 0, y, 1, scratch))
                .isInstanceOf(IndexOutOfBoundsException.class); // outputs shifted by one: the last past the end
        assertThatThrownBy(() -> kernel.run(rows, 8, 0, 2, false, 32, 2048, 4, 8, x, 0, new float[32], 0, new float[4 * 32 + 15]))
                .isInstanceOf(IndexOutOfBoundsException.class); // four tokens: activations past their array
        assertThatThrownBy(() -> kernel.run(rows, 8, 0, 2, false, 32, 2048, 3, 8, x, 0, y, 0, new float[3 * 32 + 14]))
                .isInstanceOf(IndexOutOfBoundsException.class); // no room to align the copy
        assertThatThrownBy(() -> kernel.run(rows, 8, 0, 2, false, 32, 2048, 3, 7, x, 0, y, 0, scratch))
                .isInstanceOf(IndexOutOfBoundsException.class); // a token's outputs over the next one's
        assertThatThrownBy(() -> kernel.run(rows, 8, 0, 2, false, 32, block + block / 2, 3, 8, x, 0, y, 0, scratch))
                .isInstanceOf(IndexOutOfBoundsException.class); // panels of part of a block
        assertThatThrownBy(() -> kernel.run(rows, 8, 0, 2, false, 32, 2048, 3, 8, x, 0, x, 0, scratch))
                .isInstanceOf(IndexOutOfBoundsException.class); // outputs over the activations
        assertThatThrownBy(() -> kernel.run(MemorySegment.ofArray(new byte[512]), 8, 0, 2, false, 32, 2048, 3, 8, x, 0, y, 0, scratch))
                .isInstanceOf(IndexOutOfBoundsException.class); // not native memory
    }

    /** The machine code checks nothing, so its Java entry refuses operands outside their memory before calling it. */
    @Test
    void nativeKernelRefusesOperandsOutsideItsMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        MemorySegment rows = Arena.ofAuto().allocate(10 * 64, 64); // ten rows of 32 columns: two tiles with q = 2
        long[] chunk = {0, 64, 1, 0}; // one chunk: offset, pitch, blocks, first column
        float[] xp = new float[2 * 128];
        float[] buf = new float[160 + 2 * 320 + 2 * 2 * 20]; // widened chunk, accumulators, sums
        NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800); // in bounds: runs (zero rows give zero sums)
        assertThat(java.util.Arrays.copyOfRange(buf, 800, 880)).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 1, 1, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800))
                .isInstanceOf(IndexOutOfBoundsException.class); // the second tile's last row past the rows
        // Outputs stored straight into y: ten rows of eight tokens fit 80 floats, not 79; never into the other arrays.
        float[] y = new float[80];
        java.util.Arrays.fill(y, 1f);
        NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800, y, 0, 10, 8);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800, new float[79], 0, 10, 8))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800, y, 1, 10, 8))
                .isInstanceOf(IndexOutOfBoundsException.class); // shifted by one: the last past the end
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800, y, 0, 10, 9))
                .isInstanceOf(IndexOutOfBoundsException.class); // more tokens than the groups hold
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800, buf, 0, 10, 8))
                .isInstanceOf(IndexOutOfBoundsException.class); // outputs over the buffer
        NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 5, 1, 2, xp, 0, 32, buf, 0, 160, 800); // prompt tiles: rows 0-4 and 5-9
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 6, 1, 2, xp, 0, 32, buf, 0, 160, 800))
                .isInstanceOf(IndexOutOfBoundsException.class); // tiles six rows apart: the second past the rows
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 1, 2, 3, xp, 0, 32, buf, 0, 160, 800))
                .isInstanceOf(IndexOutOfBoundsException.class); // three groups: activations, accumulators and sums past their arrays
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 100))
                .isInstanceOf(IndexOutOfBoundsException.class); // sums over the widened chunk
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, new long[] {0, 32, 1, 0}, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800))
                .isInstanceOf(IndexOutOfBoundsException.class); // rows closer than a block
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, new long[] {0, 64, 1, 32}, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800))
                .isInstanceOf(IndexOutOfBoundsException.class); // a chunk past the activations' columns
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(rows, chunk, 2, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800))
                .isInstanceOf(IndexOutOfBoundsException.class); // more chunks than described
        assertThatThrownBy(() -> NativeKernels.bf16Tiles(MemorySegment.ofArray(new byte[640]), chunk, 1, 0, 2, 1, 2, 2, xp, 0, 32, buf, 0, 160, 800))
                .isInstanceOf(IndexOutOfBoundsException.class); // not native memory
    }
}
