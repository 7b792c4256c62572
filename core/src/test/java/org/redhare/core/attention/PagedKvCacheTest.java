package org.redhare.core.attention;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.NativeMemory;
import org.redhare.core.Numbers;

/**
 * Widening a 16-bit cache for the float kernels: every one of the 65536 codes, each through the vector part (the codes
 * shifted by 5 columns in the second case puts those of the first case's tail into vectors) and the tail.
 */
class PagedKvCacheTest {
    @ParameterizedTest(name = "{0}, codes shifted by {1}")
    @CsvSource({"BF16, 0", "BF16, 5", "F16, 0", "F16, 5"})
    void widensEveryCodeExactly(KvDtype dtype, int shift) {
        int width = 37; // two vectors of 16 (or four of 8) and a tail
        int rows = (65536 + shift + width - 1) / width;
        int bs = 8;
        int blocks = (rows + bs - 1) / bs;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = blocks - 1 - i;
        try (PagedKvCache cache = new PagedKvCache(1, blocks, bs, width, width, dtype)) {
            float[] row = new float[width];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < width; i++) row[i] = decode(dtype, (short) (r * width + i - shift));
                cache.write(0, cache.slotOf(table, r), row, 0, row, 0);
            }
            MemorySegment dst = NativeMemory.allocate(4L * 100 * width);
            for (int from = 0; from < rows; from += 100) {
                int n = Math.min(100, rows - from);
                for (boolean keys : new boolean[] {true, false}) {
                    cache.widen(keys, 0, table, from, n, 0, width, dst);
                    for (int j = 0; j < n; j++) {
                        for (int i = 0; i < width; i++) {
                            short code = (short) ((from + j) * width + i - shift);
                            float got = dst.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * (j * width + i));
                            float want = decode(dtype, code);
                            if (Float.isNaN(want)) {
                                assertThat(got).as("code %04x", code).isNaN();
                            } else {
                                assertThat(Float.floatToRawIntBits(got)).as("code %04x", code).isEqualTo(Float.floatToRawIntBits(want));
                            }
                        }
                    }
                }
            }
            // A column window of the rows: columns 5..5+16 of positions 3..10.
            cache.widen(true, 0, table, 3, 7, 5, 16, dst);
            for (int j = 0; j < 7; j++) {
                for (int i = 0; i < 16; i++) {
                    assertThat(dst.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * (j * 16 + i))).isEqualTo(decode(dtype, (short) ((3 + j) * width + 5 + i - shift)));
                }
            }
        }
    }

    /** Row reads of a 16-bit cache (the latent attention's) have the bits of a float cache holding the same values. */
    @ParameterizedTest
    @CsvSource({"BF16, 576", "F16, 576", "BF16, 45", "F16, 13"})
    void rowReadsMatchAFloatCache(KvDtype dtype, int width) {
        java.util.Random rnd = new java.util.Random(width);
        try (PagedKvCache narrow = new PagedKvCache(1, 1, 4, width, 0, dtype);
             PagedKvCache wide = new PagedKvCache(1, 1, 4, width, 0, KvDtype.F32)) {
            for (int slot = 0; slot < 4; slot++) {
                float[] k = new float[width];
                for (int i = 0; i < width; i++) k[i] = decode(dtype, dtype == KvDtype.BF16 ? Numbers.floatToBf16((float) rnd.nextGaussian())
                        : Float.floatToFloat16((float) rnd.nextGaussian()));
                narrow.write(0, slot, k, 0, null, 0);
                wide.write(0, slot, k, 0, null, 0);
            }
            float[] q = new float[width + 3];
            for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
            float[] tmp = new float[width];
            for (int slot = 0; slot < 4; slot++) {
                float[] a = new float[width];
                float[] b = new float[width];
                narrow.readKey(0, slot, 1, width - 1, a, 0);
                wide.readKey(0, slot, 1, width - 1, b, 0);
                assertThat(a).containsExactly(b);
                assertThat(narrow.dotKey(0, slot, 0, q, 3, width, tmp)).isEqualTo(wide.dotKey(0, slot, 0, q, 3, width, tmp));
                float[] oa = q.clone();
                float[] ob = q.clone();
                narrow.accumulateKey(0, slot, 0, 0.37f, oa, 2, width, tmp);
                wide.accumulateKey(0, slot, 0, 0.37f, ob, 2, width, tmp);
                assertThat(oa).containsExactly(ob).isNotEqualTo(q);
            }
        }
    }

    private static float decode(KvDtype dtype, short code) {
        return dtype == KvDtype.BF16 ? Numbers.bf16ToFloat(code) : Float.float16ToFloat(code);
    }
}
