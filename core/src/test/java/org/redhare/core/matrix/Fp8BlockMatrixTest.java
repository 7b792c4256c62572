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
import org.redhare.core.Parallel;

/** The FP8 block-scaled kernel against a scalar reference written from the E4M3 definition. */
class Fp8BlockMatrixTest {
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Parallel ONE = new Parallel(1);
    private static final Parallel TWO = new Parallel(2);

    @AfterAll
    static void close() {
        ONE.close();
        TWO.close();
    }

    /** E4M3FN from its definition: bias 7, subnormals m/8 * 2^-6, no infinities. */
    static double e4m3(int code) {
        int s = (code >> 7) & 1;
        int e = (code >> 3) & 0xF;
        int m = code & 7;
        double v = e == 0 ? m / 8.0 * Math.pow(2, -6) : (1 + m / 8.0) * Math.pow(2, e - 7);
        return s == 1 ? -v : v;
    }

    record Case(Fp8BlockMatrix m, double[] w) {}

    static Case random(int rows, int cols, int bh, int bw, long seed) {
        Random rnd = new Random(seed);
        MemorySegment codes = Arena.ofAuto().allocate((long) rows * cols);
        int sr = (rows + bh - 1) / bh;
        int sc = (cols + bw - 1) / bw;
        MemorySegment scales = Arena.ofAuto().allocate((long) sr * sc * 4);
        float[] s = new float[sr * sc];
        for (int i = 0; i < s.length; i++) {
            s[i] = (float) (Math.exp(rnd.nextGaussian() * 2) * 1e-3);
            scales.setAtIndex(LE_FLOAT, i, s[i]);
        }
        double[] w = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int code;
                do {
                    code = rnd.nextInt(256);
                } while ((code & 0x7F) == 0x7F);
                codes.set(ValueLayout.JAVA_BYTE, (long) r * cols + c, (byte) code);
                w[r * cols + c] = e4m3(code) * s[(r / bh) * sc + c / bw];
            }
        }
        return new Case(new Fp8BlockMatrix(codes, scales, rows, cols, bh, bw), w);
    }

    static float[] activations(int n, int cols, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    /** Checks y against a double-precision reference, with a tolerance relative to sum |w x|. */
    static void checkAgainstReference(double[] w, int rows, int cols, float[] x, int n, float[] y) {
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double ref = 0;
                double mag = 0;
                for (int c = 0; c < cols; c++) {
                    double p = w[r * cols + c] * x[t * cols + c];
                    ref += p;
                    mag += Math.abs(p);
                }
                assertThat((double) y[t * rows + r]).as("token %d row %d", t, r).isCloseTo(ref, org.assertj.core.data.Offset.offset(mag * 2e-6 + 1e-30));
            }
        }
    }

    @ParameterizedTest(name = "[{0} x {1}] blocks {2}x{3}, {4} tokens")
    @CsvSource({
            "1, 1, 128, 128, 1", "5, 17, 128, 128, 1", "7, 100, 128, 128, 3", "33, 200, 128, 128, 17",
            "130, 300, 128, 128, 3", "9, 200, 4, 64, 5", "13, 257, 2, 64, 17", "5, 300, 3, 192, 6", "64, 128, 128, 128, 4", "6, 64, 1, 64, 7",
            "9, 2600, 128, 128, 23", "6, 2000, 1, 64, 17", // long rows with a column tail, prompt path
            "300, 200, 128, 128, 9", "256, 130, 128, 128, 12", // several 128-row bands: work split inside bands, short last groups
            "40, 200, 1, 200, 12", "41, 70, 41, 70, 9", // per-channel and per-tensor scales (one column block)
            "3, 100, 128, 128, 9", "2, 40, 1, 40, 8"}) // fewer rows than a five-row group; rows shorter than one column group
    void matchesScalarReference(int rows, int cols, int bh, int bw, int n) {
        Case k = random(rows, cols, bh, bw, rows * 31L + cols);
        float[] x = activations(n, cols, 7);
        float[] y = new float[n * rows];
        k.m().multiply(ONE, x, n, y);
        checkAgainstReference(k.w(), rows, cols, x, n, y);
        float[] y2 = new float[n * rows];
        k.m().multiply(TWO, x, n, y2);
        assertThat(y2).as("thread-count invariance").isEqualTo(y);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            k.m().row(r, row, 0);
            for (int c = 0; c < cols; c++) {
                assertThat(row[c]).isEqualTo((float) k.w()[r * cols + c]); // one rounding of the exact product
            }
        }
    }

    /**
     * One token runs the machine-code kernels ({@link NativeKernels}; with 8-float vectors {@link Avx2Kernels#fp8Decode},
     * rows of whole groups) wherever they can run, and so do 2 to 64 tokens
     * ({@code fp8_tokens.c}, in groups of up to five; with 8-float vectors {@code avx2/fp8_tokens.c}, groups of up to ten
     * in passes of one, two or four rows, columns in chunks of 512), and more in blocks of 64 where the rows are whole tiles: the same
     * bits as the Java kernels ({@link Fp8BlockMatrix#multiplyInJava}), on shapes that cut their runs of tiles (short last
     * tiles, 16-row scale bands, per-channel scales, a column tail, rows shorter than one group, long rows, more than a
     * call's tiles, bands of 6 rows), for token counts that make every group size (1 to 5), more than one group, and more
     * than one block. Where the machine code can run it must be on, so this cannot pass by leaving it out.
     */
    @ParameterizedTest(name = "[{0} x {1}] blocks {2}x128")
    @CsvSource({"4, 64, 128", "37, 333, 16", "130, 896, 128", "300, 256, 16", "9, 40, 128", "64, 1000, 1", "256, 7168, 128", "2, 128, 128",
            "37, 128, 4", "2100, 256, 12", "1030, 64, 128", "40, 192, 6", "8, 64, 128", "12, 96, 4", "52, 2048, 16", "300, 2112, 12",
            "76, 4864, 128"}) // one block a row; more than a call's tiles; bands of 6 rows; two tiles; three in bands of one; long rows (tiles in pairs) in bands of 4 and 3 tiles
    void tokensGiveTheJavaKernelsBits(int rows, int cols, int bh) {
        if (org.redhare.core.MachineCode.unavailable() == null && org.redhare.core.MachineCode.cpuHas("avx512f") && Kernels.L == 16
                && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) {
            assertThat(NativeKernels.available()).as(NativeKernels.status()).isTrue();
        }
        if (org.redhare.core.MachineCode.unavailable() == null && org.redhare.core.MachineCode.cpuHas("avx2") && Kernels.L == 8
                && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) { // one token: Avx2Kernels#fp8Decode
            assertThat(Avx2Kernels.fp8Available()).as(Avx2Kernels.status()).isTrue();
        }
        Case k = random(rows, cols, bh, 128, rows * 7L + cols);
        for (int n : new int[] {1, 2, 3, 4, 5, 6, 11, 16, 21, 64, 131}) { // 131: blocks of 64 tokens, a last one of 3
            float[] x = activations(n, cols, 3 + n);
            float[] java = new float[n * rows];
            k.m().multiplyInJava(ONE, x, n, java);
            for (Parallel pool : new Parallel[] {ONE, TWO}) {
                float[] y = new float[n * rows];
                k.m().multiply(pool, x, n, y);
                assertThat(y).as("%d tokens, %d threads", n, pool.threads()).isEqualTo(java);
            }
        }
    }

    /** The machine code checks nothing, so its Java entry refuses operands outside their memory before calling it. */
    @Test
    void nativeKernelRefusesOperandsOutsideItsBuffer() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        float[] buf = new float[64 + 8];
        MemorySegment codes = Arena.ofAuto().allocate(4 * 64 * 3, 64); // three tiles of 64 columns
        NativeKernels.fp8(codes, 0, 2, 64, 64, buf, 0, 64, 4096); // in bounds: runs (zero codes give zero sums)
        assertThat(java.util.Arrays.copyOfRange(buf, 64, 72)).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.fp8(codes, 0, 3, 64, 64, buf, 0, 64, 4096)).isInstanceOf(IndexOutOfBoundsException.class); // 12 sums, 8 floats of room
        assertThatThrownBy(() -> NativeKernels.int8(codes, 0, 1, 64, 64, buf, 16, 0, 4096)).isInstanceOf(IndexOutOfBoundsException.class); // sums over the activations
        assertThatThrownBy(() -> NativeKernels.fp8(codes, 0, 1, 64, 100, buf, 0, 64, 4096)).isInstanceOf(IndexOutOfBoundsException.class); // not whole groups
        assertThatThrownBy(() -> NativeKernels.fp8(codes, 512, 2, 64, 64, buf, 0, 64, 4096)).isInstanceOf(IndexOutOfBoundsException.class); // past the codes
        assertThatThrownBy(() -> NativeKernels.int8(MemorySegment.ofArray(new byte[768]), 0, 1, 64, 64, buf, 0, 64, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not native memory
    }

    /** The one-token decode kernels' Java entry ({@link NativeKernels#fp8Decode}, {@link Avx2Kernels#fp8Decode}). */
    @FunctionalInterface
    private interface DecodeKernel {
        void call(MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw, float[] x, float[] xScales,
                float[] factors, float[] y, float[] scaled, long ahead);
    }

    /** {@link NativeKernels#fp8Decode} checks its operands before the machine code runs (it checks nothing). */
    @Test
    void decodeKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        decodeRefusesOperandsOutsideTheirMemory(NativeKernels::fp8Decode, 100, 1);
    }

    /** {@link Avx2Kernels#fp8Decode} (groups of 32 columns, two streams' scaled activations) checks its operands the same way. */
    @Test
    void avx2DecodeKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Avx2Kernels.fp8Available(), Avx2Kernels.status());
        decodeRefusesOperandsOutsideTheirMemory(Avx2Kernels::fp8Decode, 48, 2);
    }

    /**
     * Three tiles of 128 columns in two bands of two blocks run; each operand out of its memory is refused ({@code partial}:
     * not whole groups; {@code streams}: the kernel's scaled activations take that many times 128 floats).
     */
    private static void decodeRefusesOperandsOutsideTheirMemory(DecodeKernel kernel, int partial, int streams) {
        MemorySegment codes = Arena.ofAuto().allocate(4 * 128 * 3, 64); // three tiles of 128 columns
        float[] x = new float[128], scaled = new float[streams * 128], y = new float[12], factors = new float[12];
        float[] xScales = {1f, 1f, 1f, 1f};
        java.util.Arrays.fill(y, 1f);
        kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, x, xScales, factors, y, scaled, -8192); // in bounds: two bands of two blocks
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> kernel.call(codes, 512, 3, 128, 0, 8, 2, 64, x, xScales, factors, y, scaled, -8192))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the codes
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 4, 8, 2, 64, x, xScales, factors, y, scaled, -8192))
                .isInstanceOf(IndexOutOfBoundsException.class); // outputs past y
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 4, 2, 64, x, xScales, factors, y, scaled, -8192))
                .isInstanceOf(IndexOutOfBoundsException.class); // three bands: factors past xScales
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 32, x, xScales, factors, y, scaled, -8192))
                .isInstanceOf(IndexOutOfBoundsException.class); // blocks that do not cover the row
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 6, 2, 64, x, xScales, factors, y, scaled, -8192))
                .isInstanceOf(IndexOutOfBoundsException.class); // bands that cut tiles
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, x, xScales, factors, y, x, -8192))
                .isInstanceOf(IndexOutOfBoundsException.class); // scaled over the activations
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, x, xScales, factors, y, new float[streams * 128 - 1], -8192))
                .isInstanceOf(IndexOutOfBoundsException.class); // too little room for the scaled activations
        assertThatThrownBy(() -> kernel.call(codes, 0, 1, partial, 0, 8, 2, 64, x, xScales, factors, y, scaled, -8192))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole groups
        assertThatThrownBy(() -> kernel.call(MemorySegment.ofArray(new byte[1536]), 0, 3, 128, 0, 8, 2, 64, x, xScales,
                factors, y, scaled, -8192)).isInstanceOf(IndexOutOfBoundsException.class); // not native memory
    }

    /** The several-token kernels' Java entry ({@link NativeKernels#fp8Tokens}, {@link Avx2Kernels#fp8Tokens}). */
    @FunctionalInterface
    private interface TokensKernel {
        void call(MemorySegment codes, long offset, int tiles, int cols, int r0, int bandRows, int nb, int bw, int n, int rows, float[] x,
                int xo, float[] xScales, float[] factors, float[] y, int yo, float[] scaled, long ahead);
    }

    /** {@link NativeKernels#fp8Tokens} checks its operands before the machine code runs (it checks nothing). */
    @Test
    void tokensKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        tokensRefuseOperandsOutsideTheirMemory(NativeKernels::fp8Tokens, 100);
    }

    /** {@link Avx2Kernels#fp8Tokens} (groups of 32 columns) checks its operands the same way. */
    @Test
    void avx2TokensKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Avx2Kernels.fp8Available(), Avx2Kernels.status());
        tokensRefuseOperandsOutsideTheirMemory(Avx2Kernels::fp8Tokens, 48);
    }

    /** Three tokens through three tiles of 128 columns in two bands of two blocks run; each operand out of its memory is refused. */
    private static void tokensRefuseOperandsOutsideTheirMemory(TokensKernel kernel, int partial) {
        MemorySegment codes = Arena.ofAuto().allocate(4 * 128 * 3, 64); // three tiles of 128 columns
        float[] x = new float[3 * 128], scaled = new float[3 * 128 + 15], y = new float[2 * 16 + 12], factors = new float[12];
        float[] xScales = {1f, 1f, 1f, 1f};
        java.util.Arrays.fill(y, 1f);
        kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 3, 16, x, 0, xScales, factors, y, 0, scaled, 4096); // in bounds: 3 tokens
        for (int t = 0; t < 3; t++) {
            assertThat(java.util.Arrays.copyOfRange(y, 16 * t, 16 * t + 12)).containsOnly(0f); // zero codes give zero sums
        }
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 3, 16, x, 0, xScales, factors, y, 0, new float[3 * 128], 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // no room to align the scaled activations
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 4, 16, x, 0, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // a fourth token past the activations
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 3, 16, x, 1, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // activations from an offset that leaves too few
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 3, 17, x, 0, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's outputs past y
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 3, 16, x, 0, xScales, factors, y, 1, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // outputs from an offset that runs past y
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 3, 11, x, 0, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // tokens' outputs overlapping (stride below the rows)
        assertThatThrownBy(() -> kernel.call(codes, 512, 3, 128, 0, 8, 2, 64, 3, 16, x, 0, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the codes
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 4, 2, 64, 3, 16, x, 0, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // three bands: factors past xScales
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 6, 2, 64, 3, 16, x, 0, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // bands that cut tiles
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 0, 16, x, 0, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // no tokens
        assertThatThrownBy(() -> kernel.call(codes, 0, 3, 128, 0, 8, 2, 64, 3, 16, x, 0, xScales, factors, y, 0, x, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // scaled over the activations
        assertThatThrownBy(() -> kernel.call(codes, 0, 1, partial, 0, 8, 2, 64, 1, 16, x, 0, xScales, factors, y, 0, scaled, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole groups
    }

    @ParameterizedTest(name = "[{0} x {1}] blocks {2}x64")
    @CsvSource({"37, 333, 16", "13, 2600, 16", "300, 256, 128"}) // short and long rows, bands shorter and longer than a work item
    void batchedTokensAreBitwiseIdenticalToSingleTokens(int rows, int cols, int bh) {
        int n = 17; // the widened-tile path with one token past the last group of four; 3 tokens the register path
        Case k = random(rows, cols, bh, 64, 5);
        float[] x = activations(n, cols, 11);
        float[] batched = batchedAsAlone(k.m(), x, n);
        // Few tokens (pairs, a pair and one, four and one) on the register path; batches whose last group of four is
        // padded (two or three tokens past it) or that switch paths on some hosts.
        for (int m : new int[] {2, 3, 5, 6, 7, 10, 15}) {
            float[] y = new float[m * rows];
            k.m().multiply(TWO, java.util.Arrays.copyOfRange(x, cols, (1 + m) * cols), m, y);
            for (int t = 0; t < m; t++) {
                assertThat(java.util.Arrays.copyOfRange(y, t * rows, (t + 1) * rows)).as("token %d of %d", t, m)
                        .isEqualTo(java.util.Arrays.copyOfRange(batched, (1 + t) * rows, (2 + t) * rows));
            }
        }
        // The same token in a different batch (other companions, other position) gives the same bits.
        float[] x3 = new float[3 * cols];
        System.arraycopy(x, 4 * cols, x3, 0, cols);
        System.arraycopy(x, 0, x3, cols, cols);
        System.arraycopy(x, 2 * cols, x3, 2 * cols, cols);
        float[] y3 = new float[3 * rows];
        k.m().multiply(ONE, x3, 3, y3);
        assertThat(java.util.Arrays.copyOfRange(y3, 0, rows)).isEqualTo(java.util.Arrays.copyOfRange(batched, 4 * rows, 5 * rows));
    }

    /** {@code m} times {@code n} tokens on two threads, each token's result asserted equal to its own one-token product on one; returns the batch's. */
    private static float[] batchedAsAlone(Fp8BlockMatrix m, float[] x, int n) {
        int rows = m.rows(), cols = m.cols();
        float[] batched = new float[n * rows];
        m.multiply(TWO, x, n, batched);
        for (int t = 0; t < n; t++) {
            float[] one = new float[rows];
            m.multiply(ONE, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, one);
            assertThat(java.util.Arrays.copyOfRange(batched, t * rows, (t + 1) * rows)).as("token %d", t).isEqualTo(one);
        }
        return batched;
    }

    /** A prompt longer than a token block (100 tokens at 2600 columns): each block's groups, the last padded, give the one-token bits. */
    @Test
    void promptsOverSeveralTokenBlocksGiveTheOneTokenBits() {
        int rows = 13, cols = 2600, n = 130;
        Case k = random(rows, cols, 16, 64, 9);
        float[] x = activations(n, cols, 23);
        batchedAsAlone(k.m(), x, n);
    }

    /** The token groups' machine code checks nothing either: its Java entry refuses what would read or write outside. */
    @Test
    void tileGroupsKernelRefusesOperandsOutsideItsBuffer() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        float[] buf = new float[160 + 2 * 320 + 40 + 2 * 128]; // a one-block tile, two groups' accumulators and sums, panels
        int panels = 160 + 640 + 40;
        NativeKernels.f32TileGroups(1, 2, buf, panels, 32, buf, 0, 160, 800, true, true, 0); // in bounds: zeros give zeros
        assertThat(java.util.Arrays.copyOfRange(buf, 800, 840)).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.f32TileGroups(1, 3, buf, panels, 32, buf, 0, 160, 800, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // three groups: panels past the buffer
        assertThatThrownBy(() -> NativeKernels.f32TileGroups(1, 2, buf, panels, 32, buf, 0, 100, 800, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // accumulators over the tile
        assertThatThrownBy(() -> NativeKernels.f32TileGroups(1, 2, buf, panels, 32, buf, 0, 160, 780, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // sums over the accumulators
        assertThatThrownBy(() -> NativeKernels.f32TileGroups(1, 2, buf, 700, 32, buf, 0, 160, 800, true, false, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // panels under the accumulators it writes
        assertThatThrownBy(() -> NativeKernels.f32TileGroups(2, 2, buf, panels, 32, buf, 0, 320, 1000, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // two blocks of a 32-column row
    }

    @Test
    void fp8TileGroupsKernelRefusesCodesOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        MemorySegment codes = Arena.ofAuto().allocate(5 * 128); // five rows of 128 codes, a row after another
        float[] buf = new float[4 * 160 + 2 * 320 + 40 + 2 * 4 * 128];
        int panels = 4 * 160 + 640 + 40;
        long[] offsets = {0, 128, 256, 384, 512}, strides = {64, 64, 64, 64, 64};
        NativeKernels.fp8TileGroups(codes, offsets, strides, 5, 256f, 4, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0);
        assertThat(java.util.Arrays.copyOfRange(buf, 0, 640)).containsOnly(0f); // zero codes widen to zeros
        assertThat(java.util.Arrays.copyOfRange(buf, 1280, 1320)).containsOnly(0f);
        long[] past = {0, 128, 256, 384, 577};
        assertThatThrownBy(() -> NativeKernels.fp8TileGroups(codes, past, strides, 5, 256f, 4, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last row's second 64 codes past the segment
        assertThatThrownBy(() -> NativeKernels.fp8TileGroups(codes, offsets, strides, 5, 256f, 3, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // an odd number of blocks: half a 64-column group
        assertThatThrownBy(() -> NativeKernels.fp8TileGroups(codes.asSlice(0, 100), offsets, strides, 1,
                256f, 4, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0)).isInstanceOf(IndexOutOfBoundsException.class); // rows past a short segment
        assertThatThrownBy(() -> NativeKernels.fp8TileGroups(codes, offsets, strides, 5, 256f, 4, 2, buf, panels, 128, buf, 0, 500, 1280, true, true, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // accumulators over the tile
    }

    /**
     * The prompt path widens codes times 2^8 (so subnormal codes are normal FMA inputs) and divides its activation
     * factors by 2^8, or keeps both as they are when a block scale is below 2^-33. Either way a token's bits must be
     * those it gets alone: every code (all subnormals included) and activations with subnormal values, with
     * ordinary scales and with one that takes the unscaled tile. (The fallback is conservative: the products it
     * guards are so small that they underflow on both paths, so no test can tell the two branches apart.)
     */
    @ParameterizedTest(name = "second block scale {0}")
    @CsvSource({"0.7", "6.1e-13"}) // 6.1e-13 is below 2^-33
    void promptTileGivesTheOneTokenBitsWithSubnormalCodesAndActivations(float tinyScale) {
        int rows = 11, cols = 256, n = 16; // 16 tokens take the prompt path
        MemorySegment codes = Arena.ofAuto().allocate((long) rows * cols);
        for (int i = 0, c = 0; i < rows * cols; c = (c + 1) & 0xFF) {
            if ((c & 0x7F) != 0x7F) {
                codes.set(ValueLayout.JAVA_BYTE, i++, (byte) c);
            }
        }
        MemorySegment scales = Arena.ofAuto().allocate(4 * 2);
        scales.setAtIndex(LE_FLOAT, 0, 0.013f);
        scales.setAtIndex(LE_FLOAT, 1, tinyScale);
        Fp8BlockMatrix m = new Fp8BlockMatrix(codes, scales, rows, cols, 128, 128);
        float[] x = activations(n, cols, 17);
        Random rnd = new Random(5);
        for (int i = 0; i < x.length; i += 7) {
            x[i] = Float.intBitsToFloat((rnd.nextInt(0x7FFFFF) + 1) | (rnd.nextBoolean() ? 0x80000000 : 0)); // subnormal
        }
        batchedAsAlone(m, x, n);
    }

    @Test
    void decodesEveryCodeExactlyIncludingSubnormals() {
        int cols = 254; // every code except the two NaNs
        MemorySegment codes = Arena.ofAuto().allocate(cols);
        int[] code = new int[cols];
        for (int i = 0, c = 0; c < 256; c++) {
            if ((c & 0x7F) != 0x7F) {
                code[i] = c;
                codes.set(ValueLayout.JAVA_BYTE, i++, (byte) c);
            }
        }
        MemorySegment scales = Arena.ofAuto().allocate(4 * 2);
        scales.setAtIndex(LE_FLOAT, 0, 1f);
        scales.setAtIndex(LE_FLOAT, 1, 1f);
        Fp8BlockMatrix m = new Fp8BlockMatrix(codes, scales, 1, cols, 128, 128);
        float[] row = new float[cols];
        m.row(0, row, 0);
        for (int i = 0; i < cols; i++) {
            assertThat((double) row[i]).as("code 0x%02x", code[i]).isEqualTo(e4m3(code[i]));
            float[] onehot = new float[cols];
            onehot[i] = 1f;
            float[] y = new float[1];
            m.multiply(ONE, onehot, 1, y);
            assertThat((double) y[0]).as("code 0x%02x through the kernel", code[i]).isEqualTo(e4m3(code[i]) == 0 ? 0.0 : e4m3(code[i]));
        }
        assertThat(row[1]).isEqualTo(0x1p-9f); // smallest subnormal
        assertThat(row[126]).isEqualTo(448f);  // largest finite
    }

    @Test
    void rejectsNaNCodesAndWrongScaleShapes() {
        MemorySegment codes = Arena.ofAuto().allocate(4 * 20);
        MemorySegment scales = Arena.ofAuto().allocate(4);
        scales.setAtIndex(LE_FLOAT, 0, 1f);
        codes.set(ValueLayout.JAVA_BYTE, 45, (byte) 0xFF);
        assertThatThrownBy(() -> new Fp8BlockMatrix(codes, scales, 4, 20, 128, 128))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 5]").hasMessageContaining("NaN");
        MemorySegment ok = Arena.ofAuto().allocate(4 * 20);
        MemorySegment wide = Arena.ofAuto().allocate(4 * 200);
        assertThatThrownBy(() -> new Fp8BlockMatrix(wide, scales, 4, 200, 2, 64))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 4] F32 scales");
        assertThatThrownBy(() -> new Fp8BlockMatrix(ok, scales, 4, 20, 128, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block width");
    }

    /**
     * Chosen rows alone (what the LM head's screen computes for its candidates) give the bits of the whole product, one
     * token or a batch, in the Java kernels and the machine code: short last tiles, column tails, several scale bands,
     * per-channel and per-tensor scales, rows in any order.
     */
    @ParameterizedTest(name = "[{0} x {1}] blocks {2}x{3}")
    @CsvSource({"5, 17, 128, 128", "130, 300, 128, 128", "300, 200, 128, 128", "9, 200, 4, 64", "257, 896, 128, 128",
            "40, 200, 1, 200", "41, 70, 41, 70", "1000, 128, 128, 128"})
    void chosenRowsGiveTheProductsBits(int rows, int cols, int bh, int bw) {
        Case k = random(rows, cols, bh, bw, rows * 17L + cols);
        float[] x = activations(6, cols, 11);
        float[] one = new float[rows];
        k.m().multiply(TWO, x, 1, one);
        float[] inJava = new float[rows];
        k.m().multiplyInJava(ONE, x, 1, inJava);
        float[] batch = new float[6 * rows];
        k.m().multiply(ONE, x, 6, batch);
        int[] ids = new Random(rows).ints(rows, 0, rows).toArray(); // every order, repeats included
        ids[0] = rows - 1;
        float[] got = new float[rows];
        java.util.Arrays.fill(got, Float.NaN);
        k.m().multiplyRows(x, ids, ids.length, got, new float[cols + 16]);
        for (int r : ids) {
            assertThat(Float.floatToRawIntBits(got[r])).as("row %d, against the one-token product", r).isEqualTo(Float.floatToRawIntBits(one[r]));
            assertThat(Float.floatToRawIntBits(got[r])).as("row %d, against the Java kernels", r).isEqualTo(Float.floatToRawIntBits(inJava[r]));
        }
        float[] xt = java.util.Arrays.copyOfRange(x, 4 * cols, 5 * cols); // token 4 of the batch, alone
        k.m().multiplyRows(xt, ids, ids.length, got, new float[cols + 16]);
        for (int r : ids) {
            assertThat(Float.floatToRawIntBits(got[r])).as("row %d, token 4 of 6", r).isEqualTo(Float.floatToRawIntBits(batch[4 * rows + r]));
        }
    }
}
