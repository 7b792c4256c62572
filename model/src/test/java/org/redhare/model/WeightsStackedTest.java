package org.redhare.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;
import org.redhare.core.matrix.WeightMatrix;

/**
 * {@link Weights#stacked}: matrices stacked by rows give, row for row, the bits of each matrix on its own, for every
 * stored type it stacks and on each kernel path (one token, a few, a tile's worth); and it declines what it cannot stack.
 */
class WeightsStackedTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static Parallel pool;

    @BeforeAll
    static void open() {
        pool = new Parallel(2);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    /** An in-memory checkpoint of the tensors put into it. */
    private static final class Memory implements Checkpoint {
        final Map<String, TensorRef> tensors = new LinkedHashMap<>();

        void put(String name, DType type, MemorySegment data, long... shape) {
            tensors.put(name, new TensorRef(name, type, shape, data, Path.of("memory")));
        }

        @Override public Collection<String> names() { return tensors.keySet(); }
        @Override public Optional<TensorRef> find(String name) { return Optional.ofNullable(tensors.get(name)); }
        @Override public String describe() { return "memory"; }
        @Override public void close() { }
    }

    /** The bytes of a {@code [rows, cols]} tensor of {@code type}: random values, finite scales, no FP8 NaN codes. */
    private static MemorySegment bytes(DType type, int rows, int cols, Random rnd) {
        long n = (long) rows * cols;
        MemorySegment m = switch (type) {
            case F32 -> Arena.ofAuto().allocate(4 * n, 64);
            case BF16, F16 -> Arena.ofAuto().allocate(2 * n, 64);
            case F8_E4M3 -> Arena.ofAuto().allocate(n, 64);
            case Q8_0 -> Arena.ofAuto().allocate(n / 32 * 34, 64);
            case Q4_0 -> Arena.ofAuto().allocate(n / 32 * 18, 64);
            default -> throw new IllegalArgumentException(type.toString());
        };
        switch (type) {
            case F32 -> { for (long i = 0; i < n; i++) m.setAtIndex(F32, i, (float) rnd.nextGaussian()); }
            case BF16 -> { for (long i = 0; i < n; i++) m.setAtIndex(I16, i, Numbers.floatToBf16((float) rnd.nextGaussian())); }
            case F16 -> { for (long i = 0; i < n; i++) m.setAtIndex(I16, i, Float.floatToFloat16((float) rnd.nextGaussian())); }
            case F8_E4M3 -> { for (long i = 0; i < n; i++) m.set(ValueLayout.JAVA_BYTE, i, (byte) (rnd.nextInt(0x7F) | (rnd.nextBoolean() ? 0x80 : 0))); }
            case Q8_0, Q4_0 -> {
                int block = type == DType.Q8_0 ? 34 : 18;
                for (long b = 0; b < m.byteSize() / block; b++) {
                    m.set(I16, b * block, Float.floatToFloat16(0.01f + rnd.nextFloat() * 0.05f));
                    for (int i = 2; i < block; i++) m.set(ValueLayout.JAVA_BYTE, b * block + i, (byte) rnd.nextInt(256));
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return m;
    }

    private static MemorySegment floats(float[] f) {
        MemorySegment m = Arena.ofAuto().allocate(4L * f.length, 64);
        for (int i = 0; i < f.length; i++) m.setAtIndex(F32, i, f[i]);
        return m;
    }

    /** Writes parts {@code p0, p1, ...} of the given rows (FP8 with 128 x 128 block scales) into {@code ckpt}. */
    private static List<String> parts(Memory ckpt, DType type, int[] rows, int cols, Random rnd) {
        List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i < rows.length; i++) {
            String name = "p" + i + ".weight";
            ckpt.put(name, type, bytes(type, rows[i], cols, rnd), rows[i], cols);
            if (type == DType.F8_E4M3) {
                int sr = (rows[i] + 127) / 128, sc = (cols + 127) / 128;
                float[] s = new float[sr * sc];
                for (int k = 0; k < s.length; k++) s[k] = 0.001f + rnd.nextFloat() * 0.01f;
                ckpt.put(name + "_scale_inv", DType.F32, floats(s), sr, sc);
            }
            names.add(name);
        }
        return names;
    }

    @ParameterizedTest(name = "{0} {1} x {2}")
    @CsvSource({
            "BF16, 7:3:3, 96", "BF16, 12:5:5, 2112", "F16, 7:3:3, 96", "F32, 9:4, 64",
            "Q8_0, 7:3:3, 96", "Q4_0, 10:10, 128", "F8_E4M3, 128:128:40, 200", "F8_E4M3, 256:100, 128"})
    void stackedRowsKeepTheirBits(DType type, String rowList, int cols) {
        int[] rows = java.util.Arrays.stream(rowList.split(":")).mapToInt(Integer::parseInt).toArray();
        Random rnd = new Random(7);
        Memory ckpt = new Memory();
        List<String> names = parts(ckpt, type, rows, cols, rnd);
        Weights w = new Weights(ckpt);
        WeightMatrix stacked = w.stacked(pool, names, rows, cols);
        assertThat(stacked).isNotNull();
        int total = java.util.Arrays.stream(rows).sum();
        assertThat(stacked.rows()).isEqualTo(total);
        assertThat(stacked.dtype()).isEqualTo(type);
        for (int n : new int[] {1, 3, 16}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] all = new float[n * total];
            stacked.multiply(pool, x, n, all);
            int r0 = 0;
            for (int i = 0; i < rows.length; i++) {
                float[] one = new float[n * rows[i]];
                w.matrix(names.get(i), rows[i], cols).multiply(pool, x, n, one);
                for (int t = 0; t < n; t++) {
                    for (int r = 0; r < rows[i]; r++) {
                        float got = all[t * total + r0 + r];
                        float want = one[t * rows[i] + r];
                        assertThat(Float.floatToRawIntBits(got)).as("%s n=%d part %d row %d token %d: %s vs %s", type, n, i, r, t, got, want)
                                .isEqualTo(Float.floatToRawIntBits(want));
                    }
                }
                r0 += rows[i];
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"mixed types", "fp8 blocks straddling two matrices"})
    void declinesWhatItCannotStack(String what) {
        Random rnd = new Random(3);
        Memory ckpt = new Memory();
        List<String> names;
        int[] rows;
        if (what.startsWith("mixed")) {
            ckpt.put("a.weight", DType.BF16, bytes(DType.BF16, 4, 64, rnd), 4, 64);
            ckpt.put("b.weight", DType.F32, bytes(DType.F32, 4, 64, rnd), 4, 64);
            names = List.of("a.weight", "b.weight");
            rows = new int[] {4, 4};
        } else {
            rows = new int[] {100, 128};
            names = parts(ckpt, DType.F8_E4M3, rows, 128, rnd);
        }
        assertThat(new Weights(ckpt).stacked(pool, names, rows, rows.length == 2 && what.startsWith("mixed") ? 64 : 128)).isNull();
    }
}
