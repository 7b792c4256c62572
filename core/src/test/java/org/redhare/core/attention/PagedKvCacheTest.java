package org.redhare.core.attention;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.NativeMemory;
import org.redhare.core.Numbers;

/**
 * Widening a 16-bit cache for the float kernels: every one of the 65536 codes, as values (rows) and as keys (transposed
 * per block), each through the vector part (the codes shifted by 5 columns in the second case puts those of the first
 * case's tail into vectors) and the tail.
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
            MemorySegment dst = NativeMemory.allocate(4L * 104 * width);
            for (int from = 0; from < rows; from += 100) {
                int n = Math.min(100, rows - from);
                cache.widen(false, 0, table, from, n, 0, width, dst); // values: rows
                for (int j = 0; j < n; j++) {
                    for (int i = 0; i < width; i++) {
                        assertWidened(dtype, dst.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * (j * width + i)), (short) ((from + j) * width + i - shift));
                    }
                }
            }
            // Keys: stored transposed per block, widened a run of blocks at a time in that layout (13 blocks of 8 keys).
            for (int first = 0; first < blocks; first += 13) {
                int n = Math.min(13, blocks - first);
                cache.widenKeyBlocks(0, table, first, n, 0, width, dst);
                for (int b = 0; b < n; b++) {
                    for (int i = 0; i < width; i++) {
                        for (int k = 0; k < bs && (first + b) * bs + k < rows; k++) {
                            assertWidened(dtype, dst.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * ((b * width + i) * bs + k)),
                                    (short) (((first + b) * bs + k) * width + i - shift));
                        }
                    }
                }
            }
            // A column window of the keys: columns 5..5+16 of blocks 3..5 (positions 24..48).
            cache.widenKeyBlocks(0, table, 3, 3, 5, 16, dst);
            for (int b = 0; b < 3; b++) {
                for (int i = 0; i < 16; i++) {
                    for (int k = 0; k < bs; k++) {
                        assertThat(dst.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * ((b * 16 + i) * bs + k)))
                                .isEqualTo(decode(dtype, (short) (((3 + b) * bs + k) * width + 5 + i - shift)));
                    }
                }
            }
            // Keys read back a row at a time (as a keys-only cache's are) cross the transposed layout.
            float[] back = new float[width - 1];
            cache.readKey(0, cache.slotOf(table, 27), 1, width - 1, back, 0);
            for (int i = 0; i < width - 1; i++) {
                assertWidened(dtype, back[i], (short) (27 * width + 1 + i - shift));
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

    private static void assertWidened(KvDtype dtype, float got, short code) {
        float want = decode(dtype, code);
        if (Float.isNaN(want)) {
            assertThat(got).as("code %04x", code).isNaN();
        } else {
            assertThat(Float.floatToRawIntBits(got)).as("code %04x", code).isEqualTo(Float.floatToRawIntBits(want));
        }
    }

    private static float decode(KvDtype dtype, short code) {
        return dtype == KvDtype.BF16 ? Numbers.bf16ToFloat(code) : Float.float16ToFloat(code);
    }
}
