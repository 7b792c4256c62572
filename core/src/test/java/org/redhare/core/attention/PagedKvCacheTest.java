package org.redhare.core.attention;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.NativeMemory;
import org.redhare.core.Numbers;

/**
 * Widening a 16-bit cache for the float kernels: every one of the 65536 codes through the kernels' vector loads (whole
 * and masked, at vector-aligned and shifted offsets) and their scalar load, and read back through a cache's rows and its
 * keys transposed per block.
 */
class PagedKvCacheTest {
    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    @ParameterizedTest(name = "{0}, codes shifted by {1}")
    @CsvSource({"BF16, 0", "BF16, 5", "F16, 0", "F16, 5"})
    void widensEveryCodeExactly(KvDtype dtype, int shift) {
        // Entry e holds code e - shift; offsets count 4 bytes an entry, as the kernels' do.
        int entries = 65536 + shift + L;
        MemorySegment seg = NativeMemory.allocate(2L * entries);
        for (int e = 0; e < entries; e++) {
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * e, (short) (e - shift));
        }
        for (int e = 0; e + L <= entries; e += L) {
            float[] got = new float[L];
            PagedKvCache.load(seg, 4L * e, dtype).intoArray(got, 0);
            for (int i = 0; i < L; i++) {
                assertWidened(dtype, got[i], (short) (e + i - shift));
            }
            assertWidened(dtype, PagedKvCache.get(seg, 4L * e, dtype), (short) (e - shift));
        }
        // Masked: the first three lanes of a vector starting at an odd entry, the others zero.
        VectorMask<Float> m = FloatVector.SPECIES_PREFERRED.indexInRange(0, 3);
        for (int e = 1; e + L <= entries; e += 997) {
            float[] got = new float[L];
            PagedKvCache.load(seg, 4L * e, dtype, m).intoArray(got, 0);
            for (int i = 0; i < L; i++) {
                if (i < 3) {
                    assertWidened(dtype, got[i], (short) (e + i - shift));
                } else {
                    assertThat(got[i]).isZero();
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "F16", "F32"})
    void rowsReadBackAcrossTheTransposedKeys(KvDtype dtype) {
        int width = 37; // two vectors of 16 (or four of 8) and a tail
        int bs = 8;
        int rows = 61;
        int blocks = (rows + bs - 1) / bs;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = blocks - 1 - i;
        int layers = 3; // every layer's keys and values are slices of one mapping: no layer may reach another's
        try (PagedKvCache cache = new PagedKvCache(layers, blocks, bs, width, width + 2, dtype)) {
            assertThat(cache.transposedKeys()).isTrue();
            float[] k = new float[width];
            float[] v = new float[width + 2];
            for (int l = 0; l < layers; l++) {
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < width; i++) k[i] = decode(dtype, (short) (l * 10007 + r * width + i));
                    for (int i = 0; i < width + 2; i++) v[i] = decode(dtype, (short) (l * 10007 + 7 + r * width + i));
                    cache.write(l, cache.slotOf(table, r), k, 0, v, 0);
                }
            }
            for (int l = 0; l < layers; l++) {
                for (int r = 0; r < rows; r++) {
                    float[] back = new float[width - 1];
                    cache.readKey(l, cache.slotOf(table, r), 1, width - 1, back, 0);
                    for (int i = 0; i < width - 1; i++) {
                        assertWidened(dtype, back[i], (short) (l * 10007 + r * width + 1 + i));
                    }
                    float[] vb = new float[width + 2];
                    cache.readValue(l, cache.slotOf(table, r), 0, width + 2, vb, 0);
                    for (int i = 0; i < width + 2; i++) {
                        assertWidened(dtype, vb[i], (short) (l * 10007 + 7 + r * width + i));
                    }
                }
                // The kernels' view of the keys: column c of block b's keys is a run of bs entries.
                for (int r = 0; r < rows; r++) {
                    int c = r % width;
                    long at = ((long) table[r / bs] * width + c) * bs + r % bs;
                    assertWidened(dtype, PagedKvCache.get(cache.keySegment(l), 4 * at, dtype), (short) (l * 10007 + r * width + c));
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

    private static void assertWidened(KvDtype dtype, float got, short code) {
        float want = decode(dtype, code);
        if (Float.isNaN(want)) {
            assertThat(got).as("code %04x", code).isNaN();
        } else {
            assertThat(Float.floatToRawIntBits(got)).as("code %04x", code).isEqualTo(Float.floatToRawIntBits(want));
        }
    }

    private static float decode(KvDtype dtype, short code) {
        return switch (dtype) {
            case BF16 -> Numbers.bf16ToFloat(code);
            case F16 -> Float.float16ToFloat(code);
            case F32 -> Numbers.bf16ToFloat(code); // any float: a BF16 value's
        };
    }
}
