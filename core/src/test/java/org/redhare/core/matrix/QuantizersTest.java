package org.redhare.core.matrix;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.redhare.core.Parallel;

/** The float-to-stored-format quantizers: the same bytes on any number of threads, and Math.round's rounding. */
class QuantizersTest {

    /** Quantizing to FP8 over several threads (bands of 128 rows each) gives the bytes one thread gives, ragged edges included. */
    @Test
    void quantizingOverThreadsGivesTheSameCodesAndScales() {
        Random rnd = new Random(7);
        int rows = 777, cols = 300; // six bands, the last short; three column blocks, the last short
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * (i % 997 == 0 ? 40f : 1f);
        }
        java.util.Arrays.fill(w, 0, 128 * cols, 0f); // an all-zero band: scale 1
        Quantizers.Fp8 one = Quantizers.toFp8(w, rows, cols);
        try (Parallel pool = new Parallel(3)) {
            Quantizers.Fp8 three = Quantizers.toFp8(w, rows, cols, pool);
            assertThat(three.codes().toArray(ValueLayout.JAVA_BYTE)).isEqualTo(one.codes().toArray(ValueLayout.JAVA_BYTE));
            assertThat(three.scales().toArray(ValueLayout.JAVA_BYTE)).isEqualTo(one.scales().toArray(ValueLayout.JAVA_BYTE));
        }
        assertThat(one.scales().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0)).isEqualTo(1f);
    }

    /** The quantizers' rounding is Math.round's for every float: ties (up, also for negatives), NaN, infinities, large values. */
    @Test
    void quantizersRoundAsMathRound() {
        float[] edge = {0f, -0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f, 0.50000006f, 126.5f, -126.5f,
            127.49999f, 0x1p22f + 0.5f, -0x1p22f - 0.5f, 0x1p23f + 1f, 3e9f, -3e9f, Float.NaN, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE};
        for (float x : edge) {
            assertThat(Quantizers.round(x)).as("%s", x).isEqualTo(Math.round(x));
        }
        Random rnd = new Random(3);
        for (int i = 0; i < 2_000_000; i++) {
            float x = i % 2 == 0 ? (float) (rnd.nextGaussian() * 100) : Float.intBitsToFloat(rnd.nextInt());
            if (i % 3 == 0) {
                x = (float) Math.floor(x) + 0.5f; // a tie, where representable
            }
            assertThat(Quantizers.round(x)).as("%s", x).isEqualTo(Math.round(x));
        }
    }
}
