package org.redhare.core.matrix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;

/** The screened LM head gives the exact head's argmax, with its exact logits there, whatever the coarse copy says. */
class ScreenedHeadTest {
    private static final Parallel ONE = new Parallel(1);
    private static final Parallel THREE = new Parallel(3);

    @AfterAll
    static void close() {
        ONE.close();
        THREE.close();
    }

    private static int argmax(float[] y, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (y[i] > y[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Rows of the {@code k} largest values, largest first, the first row on ties. */
    private static int[] top(float[] y, int n, int k) {
        return java.util.stream.IntStream.range(0, n).boxed()
                .sorted((a, b) -> y[a] != y[b] ? Float.compare(y[b], y[a]) : Integer.compare(a, b))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    private static int check(ScreenedHead s, WeightMatrix head, Parallel pool, float[] x) {
        return check(s, head, pool, x, 1);
    }

    /**
     * Checks one token: the same k largest rows in the same order with the exact bits, and on every row it computed; coarse
     * values below the k-th largest elsewhere.
     */
    private static int check(ScreenedHead s, WeightMatrix head, Parallel pool, float[] x, int k) {
        int rows = head.rows();
        float[] exact = new float[rows];
        head.multiply(pool, x, 1, exact);
        float[] got = new float[rows];
        if (k == 1) {
            s.argmaxLogits(pool, x, got);
        } else {
            s.topLogits(pool, x, k, got);
        }
        int best = argmax(exact, rows);
        assertThat(argmax(got, rows)).as("argmax").isEqualTo(best);
        int[] want = top(exact, rows, k);
        assertThat(top(got, rows, k)).as("the %d largest", k).isEqualTo(want);
        float kth = exact[want[k - 1]];
        for (int r : want) {
            assertThat(Float.floatToRawIntBits(got[r])).as("logit of row %d", r).isEqualTo(Float.floatToRawIntBits(exact[r]));
        }
        int same = 0;
        for (int r = 0; r < rows; r++) {
            if (Float.floatToRawIntBits(got[r]) == Float.floatToRawIntBits(exact[r])) {
                same++;
            } else {
                assertThat(got[r]).as("row %d, coarse", r).isLessThan(kth);
            }
        }
        if (s.lastCandidates() < 0) {
            assertThat(same).as("the exact head ran").isEqualTo(rows);
        }
        return s.lastCandidates();
    }

    @ParameterizedTest(name = "{2} [{0} x {1}]")
    @CsvSource({"3001, 224, BF16", "517, 96, BF16", "2048, 64, BF16", "1001, 100, BF16", "999, 1000, BF16", "1001, 100, F16",
            "517, 96, F16", "1001, 100, F32", "2048, 64, F32"})
    void randomHeadsGiveTheExactArgmaxFromFewRows(int rows, int cols, DType dtype) {
        Random rnd = new Random(rows + 13L * cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        WeightMatrix head = WeightMatrixTest.make(dtype, w, rows, cols);
        ScreenedHead s = ScreenedHead.of(ONE, head);
        assertThat(s).isNotNull();
        assertThat(s.bytes()).isLessThan(head.bytes() * 6 / (dtype == DType.F32 ? 20 : 10));
        int most = 0;
        for (int k = 0; k < 60; k++) {
            float[] x = new float[cols];
            for (int c = 0; c < cols; c++) {
                x[c] = (float) rnd.nextGaussian() * (k % 3 == 0 ? 40 : 1);
            }
            int top = Math.min(new int[] {1, 2, 7, 40}[k % 4], rows / 64);
            int n = check(s, head, k % 2 == 0 ? ONE : THREE, x, top);
            assertThat(n).as("token %d screened", k).isGreaterThanOrEqualTo(top);
            most = Math.max(most, n);
        }
        assertThat(most).as("rows computed exactly").isLessThanOrEqualTo(rows / 16);
    }

    /**
     * Several tokens screened at once (VNNI machine code; elsewhere the exact head runs, and the same checks hold): each
     * token's k largest rows, order and bits are the exact head's, other rows below the k-th; tokens of very different
     * scales (the activations' quantization is per token) and counts that leave padding in the last group of four. With
     * {@code spikes} a few activations stand far out, so the byte activations' rounding is coarse and some tokens have too
     * many candidates: those take the exact head, together.
     */
    @ParameterizedTest(name = "[{0} x {1}] top {2}, spikes {3}")
    @CsvSource({"3000, 256, 1, false", "9040, 128, 1, false", "9040, 64, 1, true", "4096, 64, 7, false", "6000, 896, 3, false",
            "8192, 128, 40, false", "1000, 896, 3, true"})
    void batchesGiveEachTokenTheExactLargest(int rows, int cols, int k, boolean spikes) {
        Random rnd = new Random(rows * 7L + cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        WeightMatrix head = WeightMatrixTest.make(DType.BF16, w, rows, cols);
        ScreenedHead s = ScreenedHead.of(ONE, head);
        if (vnniBatches()) {
            assertThat(s.screensBatches()).as(NativeKernels.status()).isTrue();
        }
        checkBatches(s, head, k, spikes, rnd);
    }

    /**
     * Whether this host screens batches (and one token) in integers: machine code for integer products, AVX512-VNNI's at
     * 512 bits, AVX2's (with AVX-VNNI or without) at 256.
     */
    private static boolean vnniBatches() {
        boolean code = Kernels.L == 16 ? org.redhare.core.MachineCode.cpuHas("avx512_vnni")
                : Kernels.L == 8 && org.redhare.core.MachineCode.cpuHas("avx2") && org.redhare.core.MachineCode.cpuHas("fma")
                && org.redhare.core.MachineCode.cpuHas("f16c");
        return code && org.redhare.core.MachineCode.unavailable() == null
                && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"));
    }

    /** Batches of 2, 5, 16 and 17 tokens: each token's k largest rows, order and bits the exact head's, other rows below the k-th. */
    private static void checkBatches(ScreenedHead s, WeightMatrix head, int k, boolean spikes, Random rnd) {
        int rows = head.rows(), cols = head.cols();
        for (int n : new int[] {2, 5, 16, 17}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian() * ((i / cols) % 3 == 0 ? 40 : 1) + (spikes && i % 97 == 0 ? 30 : 0);
            }
            float[] exact = new float[n * rows];
            head.multiply(ONE, x, n, exact);
            float[] got = new float[n * rows];
            s.topLogits(n % 2 == 0 ? ONE : THREE, x, n, k, got);
            for (int t = 0; t < n; t++) {
                float[] e = java.util.Arrays.copyOfRange(exact, t * rows, (t + 1) * rows);
                float[] g = java.util.Arrays.copyOfRange(got, t * rows, (t + 1) * rows);
                int[] want = top(e, rows, k);
                assertThat(top(g, rows, k)).as("token %d of %d: the %d largest", t, n, k).isEqualTo(want);
                for (int r : want) {
                    assertThat(Float.floatToRawIntBits(g[r])).as("token %d row %d", t, r).isEqualTo(Float.floatToRawIntBits(e[r]));
                }
                for (int r = 0; r < rows; r++) {
                    if (Float.floatToRawIntBits(g[r]) != Float.floatToRawIntBits(e[r])) {
                        assertThat(g[r]).as("token %d row %d, coarse", t, r).isLessThan(e[want[k - 1]]);
                    }
                }
            }
            if (s.screensBatches() && !spikes) {
                assertThat(s.lastCandidates()).as("rows computed exactly, %d tokens", n).isBetween(n * k, n * rows / 16);
            }
        }
    }

    /**
     * An FP8 head (what {@code --quantize fp8} makes of a BF16 one) is screened where batches screen in integers: one token
     * and batches get the FP8 head's k largest rows with its bits. Elsewhere, or for a shape the integer products cannot
     * take (rows not whole tiles of four), there is no screen: its copy would save no bytes.
     */
    /** Gaussian weights in FP8: 128 x 128 blocks as {@code --quantize fp8} makes them, or one scale per row. */
    private static Fp8BlockMatrix fp8Head(int rows, int cols, boolean perRow, Random rnd) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        if (!perRow) {
            return Quantizers.fp8(w, rows, cols);
        }
        java.lang.foreign.MemorySegment codes = java.lang.foreign.Arena.ofAuto().allocate((long) rows * cols);
        java.lang.foreign.MemorySegment scales = java.lang.foreign.Arena.ofAuto().allocate(4L * rows);
        for (int r = 0; r < rows; r++) {
            float amax = 0f;
            for (int c = 0; c < cols; c++) {
                amax = Math.max(amax, Math.abs(w[r * cols + c]));
            }
            float scale = amax / 448f;
            scales.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), r, scale);
            for (int c = 0; c < cols; c++) {
                codes.set(java.lang.foreign.ValueLayout.JAVA_BYTE, (long) r * cols + c, Numbers.floatToE4m3(w[r * cols + c] / scale));
            }
        }
        return new Fp8BlockMatrix(codes, scales, rows, cols, 1, cols);
    }

    @ParameterizedTest(name = "[{0} x {1}] top {2}, blocks {3}")
    @CsvSource({"3000, 256, 1, 128", "4096, 896, 5, 128", "2048, 128, 1, 0", "1001, 128, 1, 128"})
    void fp8HeadsAreScreenedWhereBatchesMultiplyIntegers(int rows, int cols, int k, int block) {
        Random rnd = new Random(rows * 5L + cols);
        Fp8BlockMatrix head = fp8Head(rows, cols, block == 0, rnd);
        ScreenedHead s = ScreenedHead.of(ONE, head);
        if (!vnniBatches() || rows % 4 != 0) {
            assertThat(s).as(NativeKernels.status()).isNull();
            return;
        }
        assertThat(s).isNotNull();
        assertThat(s.screensBatches()).isTrue();
        for (int i = 0; i < 12; i++) {
            float[] x = new float[cols];
            for (int c = 0; c < cols; c++) {
                x[c] = (float) rnd.nextGaussian() * (i % 3 == 0 ? 40 : 1);
            }
            assertThat(check(s, head, i % 2 == 0 ? ONE : THREE, x, k)).as("token %d screened", i).isBetween(k, rows / 16);
        }
        checkBatches(s, head, k, false, rnd);
    }

    /**
     * The integer products in machine code against a scalar sum over each row's codes (the activations' codes plus what
     * the kernel adds to them, {@link Int8RowMatrix#dotsOffset}). Columns a multiple of 32 but not of 64 run at 256 bits
     * only. The activations' codes in the quantizer's range, -127 to 127, its extremes often.
     */
    @ParameterizedTest(name = "[{0} x {1}] x {2} groups")
    @CsvSource({"8, 64, 1", "400, 896, 4", "132, 128, 2", "8, 64, 0", "4, 128, 0", "1028, 896, 0", "12, 96, 1", "8, 32, 0",
            "36, 160, 3"})
    void integerProductsMatchTheCodes(int rows, int cols, int groups) {
        Random rnd = new Random(rows + cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        ScreenedHead s = ScreenedHead.of(ONE, WeightMatrixTest.make(DType.BF16, w, rows, cols));
        Int8RowMatrix q = (Int8RowMatrix) s.coarse();
        org.junit.jupiter.api.Assumptions.assumeTrue(q.dotsAvailable(), NativeKernels.status());
        int ntok = groups == 0 ? 1 : 4 * groups; // groups 0: one token
        byte[] xq = new byte[ntok * cols];
        rnd.nextBytes(xq);
        for (int i = 0; i < xq.length; i++) {
            if (xq[i] == 0 || i % 7 == 0) { // codes -127 .. 127 (the quantizer's range), the extremes often
                xq[i] = (byte) (i % 2 == 0 ? 1 : 255);
            }
        }
        int offset = Int8RowMatrix.dotsOffset();
        int[] out = new int[rows * ntok];
        q.dots(THREE, xq, groups, out);
        byte[] codes = new byte[cols];
        for (int r = 0; r < rows; r++) {
            q.codes(r, codes);
            for (int t = 0; t < ntok; t++) {
                int want = 0;
                for (int c = 0; c < cols; c++) {
                    want += ((xq[t * cols + Int8RowMatrix.orderColumns(c)] & 0xFF) - 128 + offset) * codes[c];
                }
                assertThat(out[r * ntok + t]).as("row %d token %d", r, t).isEqualTo(want);
            }
        }
    }

    /**
     * One token screened in integers where VNNI machine code runs: its activations quantized to bytes, the bound widened
     * by their rounding. The same k largest rows, order and bits as the exact head. With one activation far out (in a
     * column the rows ignore) the rest round to a few byte steps and the widened bound lets too many rows through: that
     * token, and the next {@link ScreenedHead#FLOAT_RUN}, are screened in floats (not the whole exact head), then integers
     * again.
     */
    @ParameterizedTest(name = "[{0} x {1}] top {2}")
    @CsvSource({"4096, 256, 1", "9040, 128, 7", "6000, 896, 40", "2048, 64, 2"})
    void oneTokenIsScreenedInIntegersWhereBatchesAre(int rows, int cols, int k) {
        Random rnd = new Random(rows * 3L + cols + k);
        float[] w = new float[rows * cols];
        final int spike = 5;
        for (int i = 0; i < w.length; i++) {
            w[i] = i % cols == spike ? 0f : (float) rnd.nextGaussian() * 0.05f;
        }
        WeightMatrix head = WeightMatrixTest.make(DType.BF16, w, rows, cols);
        ScreenedHead s = ScreenedHead.of(ONE, head);
        boolean vnni = vnniBatches();
        if (vnni) {
            assertThat(s.screensBatches()).as(NativeKernels.status()).isTrue();
        }
        int integers = 0;
        for (int i = 0; i < 14 + ScreenedHead.FLOAT_RUN; i++) {
            boolean spiked = i == 12;
            float[] x = new float[cols];
            float scale = i % 3 == 0 ? 30 : 1;
            for (int c = 0; c < cols; c++) {
                x[c] = (float) rnd.nextGaussian() * scale;
            }
            if (spiked) {
                x[spike] = -60 * scale;
            }
            int n = check(s, head, i % 2 == 0 ? ONE : THREE, x, k);
            if (!spiked || k <= 7) { // the 40 largest of the spiked token: too many rows in floats too, the exact head
                assertThat(n).as("token %d screened", i).isGreaterThanOrEqualTo(k);
            }
            integers += s.lastInIntegers() ? 1 : 0;
            if (!vnni) {
                assertThat(s.lastInIntegers()).isFalse();
            } else if (i >= 12 && i <= 12 + ScreenedHead.FLOAT_RUN) {
                assertThat(s.lastInIntegers()).as("token %d: the spiked one, then floats for a while", i).isFalse();
            } else if (i > 12) {
                assertThat(s.lastInIntegers()).as("token %d: integers again", i).isTrue();
            }
        }
        if (vnni && k <= 7) {
            assertThat(integers).as("tokens screened in integers").isEqualTo(13);
        }
    }

    /**
     * The machine code checks nothing, so its Java entry refuses operands outside their memory before calling it: one
     * token (groups 0) reads one row of activations and writes a sum a row, four tokens (a group) four of each.
     */
    @Test
    void integerProductsRefuseOperandsOutsideTheirMemory() {
        java.lang.foreign.MemorySegment codes = java.lang.foreign.Arena.ofAuto().allocate(2 * 4 * 128); // two tiles of 128 columns
        byte[] one = new byte[128];
        int[] sums = new int[8];
        assertThatThrownBy(() -> NativeKernels.i8Dots(codes, 0, 2, 128, 128, 0, new byte[127], sums, 0))
                .as("one token's activations short").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> NativeKernels.i8Dots(codes, 0, 2, 128, 128, 0, one, new int[7], 0))
                .as("one sum short").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> NativeKernels.i8Dots(codes, 0, 2, 128, 128, 0, one, sums, 1))
                .as("the sums' start one late").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> NativeKernels.i8Dots(codes, 1, 2, 128, 128, 0, one, sums, 0))
                .as("codes one byte past").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> NativeKernels.i8Dots(codes, 0, 2, 128, 128, -1, one, sums, 0))
                .as("groups below 0").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> NativeKernels.i8Dots(codes, 0, 2, 128, 128, 1, one, new int[32], 0))
                .as("a group of four tokens, one token's activations").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> NativeKernels.i8Dots(codes, 0, 2, 128, 128, 1, new byte[512], new int[31], 0))
                .as("a group of four tokens, one sum short").isInstanceOf(IndexOutOfBoundsException.class);
        if (NativeKernels.dotsAvailable()) {
            NativeKernels.i8Dots(codes, 0, 2, 128, 128, 0, one, sums, 0); // exactly enough
            NativeKernels.i8Dots(codes, 0, 2, 128, 128, 1, new byte[512], new int[32], 0);
        }
        // AVX2's entry: the same checks, columns in groups of 32
        assertThatThrownBy(() -> Avx2Kernels.i8Dots(codes, 0, 2, 128, 80, 0, one, sums, 0))
                .as("columns not a multiple of 32").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> Avx2Kernels.i8Dots(codes, 0, 2, 128, 96, 1, new byte[384], new int[31], 0))
                .as("AVX2, a group of four tokens, one sum short").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> Avx2Kernels.i8Dots(codes, 0, 2, 128, 96, 1, new byte[383], new int[32], 0))
                .as("AVX2, a group of four tokens, activations one byte short").isInstanceOf(IndexOutOfBoundsException.class);
        if (Avx2Kernels.dotsAvailable()) {
            Avx2Kernels.i8Dots(codes, 0, 2, 128, 96, 0, one, sums, 0);
            Avx2Kernels.i8Dots(codes, 0, 2, 128, 96, 1, new byte[384], new int[32], 0);
        }
    }

    /** A sampler's penalties on some rows: a repetition penalty then a constant subtracted (negative: a boost). */
    private record Penalties(int[] rows, float[] repetition, float[] minus) implements LogitAdjustment {
        @Override
        public int count() {
            return rows.length;
        }

        @Override
        public int row(int i) {
            return rows[i];
        }

        @Override
        public float apply(int row, float logit) {
            for (int i = 0; i < rows.length; i++) {
                if (rows[i] == row) {
                    float l = logit > 0 ? logit / repetition[i] : logit * repetition[i];
                    return l - minus[i];
                }
            }
            return logit;
        }

        void applyTo(float[] y) {
            for (int r : rows) {
                y[r] = apply(r, y[r]);
            }
        }
    }

    /**
     * Penalties applied after the screened head give the k largest that they give after the exact head, bit for bit: the
     * penalized rows' bounds go through the penalties, so a row the penalties lift from far below (a negative presence
     * penalty) is computed exactly, and a top row they push down gives way to the next.
     */
    @ParameterizedTest(name = "{2} [{0} x {1}]")
    @CsvSource({"3001, 224, BF16", "2048, 64, F32", "1001, 100, F16"})
    void penaltiesAfterTheHeadKeepTheLargestExact(int rows, int cols, DType dtype) {
        Random rnd = new Random(7 * rows + cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        WeightMatrix head = WeightMatrixTest.make(dtype, w, rows, cols);
        ScreenedHead s = ScreenedHead.of(ONE, head);
        int lifted = 0, integers = 0;
        for (int t = 0; t < 40; t++) {
            float[] x = new float[cols];
            for (int c = 0; c < cols; c++) {
                x[c] = (float) rnd.nextGaussian();
            }
            float[] exact = new float[rows];
            head.multiply(ONE, x, 1, exact);
            int k = new int[] {1, 3, 20}[t % 3];
            int[] order = top(exact, rows, rows);
            int n = 6 + rnd.nextInt(30);
            int[] pr = new int[n];
            float[] rep = new float[n];
            float[] minus = new float[n];
            java.util.Set<Integer> used = new java.util.HashSet<>();
            for (int i = 0; i < n; i++) {
                int r;
                do {
                    // the top rows, rows from the middle, rows from the bottom
                    r = i < 3 ? order[i] : i % 2 == 0 ? order[rows / 3 + rnd.nextInt(rows / 3)] : order[rows - 1 - rnd.nextInt(rows / 4)];
                } while (!used.add(r));
                pr[i] = r;
                rep[i] = i % 3 == 0 ? 1f : 0.5f + 2 * rnd.nextFloat();
                minus[i] = i < 3 ? 2f * (exact[order[0]] - exact[order[2 * k + 5]]) : i % 4 == 1 ? -(exact[order[0]] - exact[r]) - 0.01f * rnd.nextFloat() : 0.3f * (float) rnd.nextGaussian();
            }
            Penalties p = new Penalties(pr, rep, minus);
            float[] want = exact.clone();
            p.applyTo(want);
            int[] wantTop = top(want, rows, k);
            float[] got = new float[rows];
            s.topLogits(t % 2 == 0 ? ONE : THREE, x, k, got, p);
            assertThat(s.lastCandidates()).as("token %d screened", t).isBetween(k, rows / 16);
            integers += s.lastInIntegers() ? 1 : 0;
            p.applyTo(got);
            assertThat(top(got, rows, k)).as("token %d: the %d largest after the penalties", t, k).isEqualTo(wantTop);
            for (int r : wantTop) {
                assertThat(Float.floatToRawIntBits(got[r])).as("row %d", r).isEqualTo(Float.floatToRawIntBits(want[r]));
                if (java.util.Arrays.stream(pr).anyMatch(q -> q == r) && java.util.Arrays.stream(order).limit(rows / 16).noneMatch(q -> q == r)) {
                    lifted++; // a penalized row from beyond the screen's reach without the penalties
                }
            }
        }
        assertThat(lifted).as("rows the penalties lifted into the largest").isPositive();
        if (vnniBatches() && rows % 4 == 0 && cols % (4 * Kernels.L) == 0) {
            assertThat(integers).as("tokens screened in integers, penalties and all").isPositive();
        }
    }

    /**
     * A row whose coarse logit in integers overshoots by most of what the activations' rounding allows: one activation
     * sets the byte step, every other sits 0.45 of a step off its code (-1, 0 or 1), on the side of that row's weight, so
     * the rounding adds up along it. Boosted by a penalty to just below the true largest, its lower bound would pass the
     * true largest's upper bound unless the bounds cover the activations' rounding (the term {@code |q_r| e}): without it
     * the boosted row was taken for the largest.
     */
    @Test
    void boundsCoverTheActivationsRoundingAlongABoostedRow() {
        int rows = 2048, cols = 64, star = 100;
        Random rnd = new Random(17);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        WeightMatrix head = WeightMatrixTest.make(DType.F32, w, rows, cols);
        ScreenedHead s = ScreenedHead.of(ONE, head);
        float step = 0.01f;
        float[] x = new float[cols];
        for (int c = 0; c < cols; c++) {
            int code = c == 0 ? 127 : rnd.nextInt(3) - 1;
            x[c] = c == 0 ? 127 * step : step * (code - 0.45f * Math.signum(w[star * cols + c]));
        }
        float[] exact = new float[rows];
        head.multiply(ONE, x, 1, exact);
        int top = -1;
        for (int r = 0; r < rows; r++) {
            if (r != star && (top < 0 || exact[r] > exact[top])) {
                top = r;
            }
        }
        float lift = exact[top] - exact[star] - 1e-3f;
        Penalties p = new Penalties(new int[] {star}, new float[] {1f}, new float[] {-lift}); // the row just below the top
        float[] want = exact.clone();
        p.applyTo(want);
        assertThat(argmax(want, rows)).isEqualTo(top);
        assertThat(want[star]).isGreaterThan(exact[top] - 0.01f);
        float[] got = new float[rows];
        s.topLogits(ONE, x, 1, got, p);
        if (vnniBatches()) {
            assertThat(s.lastInIntegers()).isTrue();
        }
        p.applyTo(got);
        assertThat(argmax(got, rows)).isEqualTo(top);
        assertThat(Float.floatToRawIntBits(got[top])).isEqualTo(Float.floatToRawIntBits(want[top]));
    }

    /** The int8 copy's kernel against a double-precision reference over its own widened rows, on odd shapes. */
    @ParameterizedTest(name = "[{0} x {1}]")
    @CsvSource({"5, 64", "13, 100", "31, 300", "64, 512", "9, 17", "1030, 96"})
    void theCopysKernelMatchesItsRows(int rows, int cols) {
        Random rnd = new Random(rows * 7L + cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.1f;
        }
        WeightMatrix coarse = ScreenedHead.of(ONE, WeightMatrixTest.make(DType.BF16, w, rows, cols)).coarse();
        int n = 2;
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] row = new float[cols];
        for (Parallel pool : new Parallel[] {ONE, THREE}) {
            float[] y = new float[n * rows];
            coarse.multiply(pool, x, n, y);
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < rows; r++) {
                    coarse.row(r, row, 0);
                    double ref = 0, mag = 0;
                    for (int c = 0; c < cols; c++) {
                        ref += (double) row[c] * x[t * cols + c];
                        mag += Math.abs((double) row[c] * x[t * cols + c]);
                    }
                    assertThat((double) y[t * rows + r]).as("token %d row %d", t, r).isCloseTo(ref, org.assertj.core.data.Offset.offset(1e-5 * mag + 1e-30));
                }
            }
        }
    }

    /**
     * The bound is tight where the state points along a row's quantization error: there the two logits differ by nearly
     * {@code c[r] |x|}, and by no more.
     */
    @Test
    void theBoundHoldsAndIsReachedAlongTheError() {
        int rows = 64, cols = 256;
        Random rnd = new Random(3);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * (i % 41 == 0 ? 0.5f : 0.03f);
        }
        WeightMatrix head = WeightMatrixTest.make(DType.BF16, w, rows, cols);
        ScreenedHead s = ScreenedHead.of(ONE, head);
        float[] q = new float[cols];
        float[] exact = new float[rows];
        float[] coarse = new float[rows];
        for (int r = 0; r < rows; r += 7) {
            s.coarse().row(r, q, 0);
            float[] x = new float[cols];
            double nx = 0;
            for (int c = 0; c < cols; c++) {
                x[c] = w[r * cols + c] - q[c];
                nx += (double) x[c] * x[c];
            }
            nx = Math.sqrt(nx);
            head.multiply(ONE, x, 1, exact);
            s.coarse().multiply(ONE, x, 1, coarse);
            for (int k = 0; k < rows; k++) {
                assertThat((double) Math.abs(exact[k] - coarse[k])).as("row %d, state along row %d's error", k, r).isLessThanOrEqualTo(s.bound(k) * nx);
            }
            assertThat(Math.abs(exact[r] - coarse[r]) / (s.bound(r) * nx)).as("row %d", r).isGreaterThan(0.9);
        }
    }

    /** Rows the int8 copy cannot tell apart: the exact head's order decides, ties to the first row as the exact argmax. */
    @Test
    void nearTiesTheCopyCannotSeeAreDecidedExactly() {
        int rows = 1000, cols = 128;
        Random rnd = new Random(5);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.02f;
        }
        float[] base = new float[cols];
        for (int c = 0; c < cols; c++) {
            base[c] = Numbers.bf16ToFloat(Numbers.floatToBf16((float) rnd.nextGaussian() * 0.05f));
        }
        int[] copies = {700, 5, 401, 999}; // 5 and 401 identical, 700 and 999 one BF16 step above at one column
        for (int k : copies) {
            System.arraycopy(base, 0, w, k * cols, cols);
        }
        int c0 = 17;
        for (int k : new int[] {700, 999}) {
            short b = Numbers.floatToBf16(base[c0]);
            w[k * cols + c0] = Numbers.bf16ToFloat((short) (b + 1)); // one step larger in magnitude
        }
        WeightMatrix head = WeightMatrixTest.make(DType.BF16, w, rows, cols);
        ScreenedHead s = ScreenedHead.of(THREE, head);
        float[] x = base.clone(); // the copies score highest
        float[] exact = new float[rows];
        head.multiply(ONE, x, 1, exact);
        assertThat(argmax(exact, rows)).isEqualTo(700);
        assertThat(exact[700]).isGreaterThan(exact[5]);
        assertThat(check(s, head, ONE, x)).isBetween(4, 40);
        x[c0] = 0; // now all four tie: the first of them
        head.multiply(ONE, x, 1, exact);
        assertThat(argmax(exact, rows)).isEqualTo(5);
        check(s, head, ONE, x);
    }

    @Test
    void degenerateStatesRunTheExactHead() {
        int rows = 300, cols = 64;
        Random rnd = new Random(9);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        WeightMatrix head = WeightMatrixTest.make(DType.BF16, w, rows, cols);
        ScreenedHead s = ScreenedHead.of(ONE, head);
        assertThat(check(s, head, ONE, new float[cols])).as("a zero state: every row ties").isEqualTo(-1);
        float[] x = new float[cols];
        x[3] = Float.NaN;
        float[] got = new float[rows];
        s.argmaxLogits(ONE, x, got);
        assertThat(s.lastCandidates()).isEqualTo(-1);
        assertThat(got[0]).isNaN();
        x[3] = 1e30f; // large, still finite: screened as usual
        assertThat(check(s, head, ONE, x)).isPositive();
        x[3] = Float.MAX_VALUE; // the logits overflow: the exact head's infinities, as they are
        float[] exact = new float[rows];
        head.multiply(ONE, x, 1, exact);
        s.argmaxLogits(ONE, x, got);
        assertThat(s.lastCandidates()).isEqualTo(-1);
        assertThat(got).containsExactly(exact);
    }

    @Test
    void onlyFloatHeadsWithFiniteWeightsAreScreened() {
        assertThat(ScreenedHead.of(ONE, Quantizers.q8_0(new float[4 * 64], 4, 64))).as("a quantized head").isNull();
        float[] w = new float[4 * 64];
        w[70] = Float.POSITIVE_INFINITY;
        assertThat(ScreenedHead.of(ONE, WeightMatrixTest.make(DType.BF16, w, 4, 64))).as("a weight that is not finite").isNull();
        w[70] = 1f;
        assertThat(ScreenedHead.of(ONE, WeightMatrixTest.make(DType.BF16, w, 4, 64))).isNotNull();
    }
}
