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

    /**
     * A Q8 cache: each token's keys and values of each head read back within half their scale (the head's largest
     * magnitude over 127), the largest exactly; the kernels' view of the codes (transposed keys, value rows) and of the
     * scales ({@code [block][head][bs]}); zero heads stay zero, a head with a NaN reads back as NaN; the memory it
     * reports; a keys-only (latent) cache refused.
     */
    @org.junit.jupiter.api.Test
    void q8KeepsEachHeadWithinHalfItsScale() {
        int heads = 3, kd = 20, vd = 12, bs = 16, rows = 45, layers = 2;
        int blocks = (rows + bs - 1) / bs;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = blocks - 1 - i;
        java.util.Random rnd = new java.util.Random(5);
        float[][][] k = new float[layers][rows][heads * kd];
        float[][][] v = new float[layers][rows][heads * vd];
        try (PagedKvCache cache = new PagedKvCache(layers, blocks, bs, heads * kd, heads * vd, KvDtype.Q8, heads)) {
            assertThat(cache.totalBytes()).isEqualTo((long) blocks * bs * layers * (heads * (kd + vd) + 2 * heads * 4));
            assertThat(PagedKvCache.bytesPerToken(layers, heads * kd, heads * vd, KvDtype.Q8, heads))
                    .isEqualTo((long) layers * (heads * (kd + vd) + 8 * heads));
            for (int l = 0; l < layers; l++) {
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < k[l][r].length; i++) k[l][r][i] = (float) (rnd.nextGaussian() * Math.exp(3 * rnd.nextGaussian()));
                    for (int i = 0; i < v[l][r].length; i++) v[l][r][i] = (float) (rnd.nextGaussian() * (1 + i / vd));
                    if (r == 7) java.util.Arrays.fill(k[l][r], kd, 2 * kd, 0f); // head 1's keys all zero
                    if (r == 9) v[l][r][2 * vd + 3] = Float.NaN;                  // head 2's values hold a NaN
                    cache.write(l, cache.slotOf(table, r), k[l][r], 0, v[l][r], 0);
                }
            }
            for (int l = 0; l < layers; l++) {
                for (int r = 0; r < rows; r++) {
                    int slot = cache.slotOf(table, r);
                    float[] kb = new float[heads * kd];
                    float[] vb = new float[heads * vd];
                    cache.readKey(l, slot, 0, heads * kd, kb, 0);
                    cache.readValue(l, slot, 0, heads * vd, vb, 0);
                    for (int h = 0; h < heads; h++) {
                        float ks = PagedKvCache.get(cache.keyScaleSegment(l), 4L * (((long) table[r / bs] * heads + h) * bs + r % bs), KvDtype.F32);
                        float vs = PagedKvCache.get(cache.valueScaleSegment(l), 4L * (((long) table[r / bs] * heads + h) * bs + r % bs), KvDtype.F32);
                        assertWithinHalfScale(k[l][r], kb, h * kd, kd, ks);
                        if (r == 9 && h == 2) {
                            for (int i = 0; i < vd; i++) assertThat(vb[h * vd + i]).isNaN();
                        } else {
                            assertWithinHalfScale(v[l][r], vb, h * vd, vd, vs);
                        }
                        for (int i = 0; i < kd; i++) { // the score kernels' view: dim c of block b's keys is a run of bs codes
                            long at = ((long) table[r / bs] * heads * kd + h * kd + i) * bs + r % bs;
                            assertThat(PagedKvCache.get(cache.keySegment(l), 4 * at, KvDtype.Q8) * ks).isEqualTo(kb[h * kd + i]);
                        }
                        for (int i = 0; i < vd; i++) {
                            long at = (long) slot * heads * vd + h * vd + i;
                            assertThat(PagedKvCache.get(cache.valueSegment(l), 4 * at, KvDtype.Q8) * vs).isEqualTo(vb[h * vd + i], org.assertj.core.api.Assertions.withPrecision(0f));
                        }
                    }
                    if (r == 7) {
                        for (int i = kd; i < 2 * kd; i++) assertThat(kb[i]).isZero();
                    }
                }
            }
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new PagedKvCache(1, 1, 16, 576, 0, KvDtype.Q8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("latent");
    }

    /** Entries {@code off .. off + n} of {@code got} within half of {@code scale} of {@code want}, the largest exactly. */
    /**
     * Window layers of fewer blocks than the others: each layer keeps what was written to it (no two layers' storage
     * overlaps), a window layer refuses a block past its own count, and the memory figures count each layer's blocks.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(KvDtype.class)
    void windowLayersHoldFewerBlocksOfTheirOwn(KvDtype dtype) {
        int layers = 4, blocks = 6, windowBlocks = 2, bs = 4, kw = 8, vw = 8, heads = 2;
        boolean[] windowed = {true, false, true, false};
        try (PagedKvCache cache = new PagedKvCache(layers, blocks, bs, kw, vw, dtype, heads, windowed, windowBlocks)) {
            assertThat(cache.numBlocks()).isEqualTo(blocks);
            assertThat(cache.windowBlocks()).isEqualTo(windowBlocks);
            assertThat(cache.numBlocks(0)).isEqualTo(windowBlocks);
            assertThat(cache.numBlocks(1)).isEqualTo(blocks);
            long perLayerToken = PagedKvCache.bytesPerToken(1, kw, vw, dtype, heads);
            assertThat(cache.totalBytes()).isEqualTo(perLayerToken * bs * (2L * blocks + 2L * windowBlocks));
            float[] k = new float[kw], v = new float[vw], got = new float[kw];
            for (int l = 0; l < layers; l++) { // the last slot each layer holds, and the first
                for (int slot : new int[] {0, cache.numBlocks(l) * bs - 1}) {
                    java.util.Arrays.fill(k, 1 + l + slot);
                    java.util.Arrays.fill(v, -(1 + l + slot));
                    cache.write(l, slot, k, 0, v, 0);
                }
            }
            for (int l = 0; l < layers; l++) {
                for (int slot : new int[] {0, cache.numBlocks(l) * bs - 1}) {
                    cache.readKey(l, slot, 0, kw, got, 0);
                    assertThat(got).as("layer %d slot %d keys", l, slot).containsOnly(1 + l + slot);
                    cache.readValue(l, slot, 0, vw, got, 0);
                    assertThat(got).as("layer %d slot %d values", l, slot).containsOnly(-(1 + l + slot));
                }
            }
            int past = windowBlocks * bs; // the first slot a window layer does not have
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> cache.write(0, past, k, 0, v, 0)).isInstanceOf(IndexOutOfBoundsException.class);
            cache.write(1, past, k, 0, v, 0); // the other layers have it
        }
    }

    private static void assertWithinHalfScale(float[] want, float[] got, int off, int n, float scale) {
        float max = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, Math.abs(want[off + i]));
        assertThat(scale).isEqualTo(max / 127f);
        for (int i = 0; i < n; i++) {
            assertThat((double) got[off + i]).isCloseTo(want[off + i], org.assertj.core.api.Assertions.within(scale * 0.5 * (1 + 1e-5)));
            if (Math.abs(want[off + i]) == max && max > 0) {
                assertThat(Math.abs(got[off + i])).isCloseTo(max, org.assertj.core.api.Assertions.within(max * 1e-6f));
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
            case Q8 -> throw new IllegalArgumentException("Q8 entries are codes and scales (q8KeepsEachHeadWithinHalfItsScale)");
        };
    }
}
