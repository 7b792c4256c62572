package org.redhare.core.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class OpsReductionTest {

    @Test
    void maxIsTheScalarMaximumOnOddLengthsAndOffsets() {
        Random rnd = new Random(11);
        for (int len : new int[] {0, 1, 7, 15, 16, 17, 33, 1000, 151_936}) {
            int off = rnd.nextInt(5);
            float[] x = new float[off + len + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (rnd.nextGaussian() * 10);
            }
            if (off > 0) {
                x[0] = 1e9f; // outside the range, on the left
            }
            x[x.length - 1] = 1e9f; // outside on the right
            if (len > 0) {
                x[off + rnd.nextInt(len)] = 123.5f; // the maximum, anywhere, including the scalar tail
            }
            float ref = Float.NEGATIVE_INFINITY;
            for (int i = off; i < off + len; i++) {
                ref = Math.max(ref, x[i]);
            }
            assertThat(Ops.max(x, off, len)).as("len %d off %d", len, off).isEqualTo(ref);
        }
    }

    @Test
    void maxPropagatesNaN() {
        float[] x = new float[40];
        x[37] = Float.NaN;
        assertThat(Ops.max(x, 0, 40)).isNaN();
        x[37] = 0;
        x[3] = Float.NaN;
        assertThat(Ops.max(x, 0, 40)).isNaN();
    }

    @Test
    void sumExpShiftedIsBitIdenticalToExpShiftedAndLeavesTheRowAlone() {
        Random rnd = new Random(5);
        for (int len : new int[] {1, 15, 16, 17, 100, 4099}) {
            float[] x = new float[len + 2];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (rnd.nextGaussian() * 4);
            }
            float shift = Ops.max(x, 1, len);
            float[] before = x.clone();
            float sum = Ops.sumExpShifted(x, 1, len, shift);
            assertThat(x).isEqualTo(before);
            float[] y = x.clone();
            assertThat(Float.floatToRawIntBits(sum)).as("len %d", len).isEqualTo(Float.floatToRawIntBits(Ops.expShifted(y, 1, len, shift)));
            double ref = 0;
            for (int i = 1; i <= len; i++) {
                ref += Math.exp(x[i] - shift);
            }
            assertThat((double) sum).isCloseTo(ref, org.assertj.core.data.Offset.offset(ref * 1e-5));
        }
    }

    /**
     * The softmax loop writes out {@link VectorMath#exp(jdk.incubator.vector.FloatVector)}'s operations (so no vector
     * crosses a call C2 may not inline): every exponential it stores is that method's lane, or the scalar twin's in the
     * tail, bit for bit, including the clamped lanes (below -87.3: zero; above 88.7: infinity) and NaN.
     */
    @Test
    void expShiftedStoresExactlyTheVectorExponential() {
        jdk.incubator.vector.VectorSpecies<Float> f = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        Random rnd = new Random(9);
        int len = 5 * f.length() + 3;
        float[] x = new float[len + 1];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * 30);
        }
        x[2] = -1000f;
        x[3] = 1000f;
        x[4] = Float.NaN;
        x[len - 1] = -200f;
        float shift = 0.75f;
        float[] y = x.clone();
        Ops.expShifted(y, 1, len, shift);
        int vectorEnd = len / f.length() * f.length();
        for (int i = 0; i < len; i++) {
            float expected = i < vectorEnd
                    ? VectorMath.exp(jdk.incubator.vector.FloatVector.broadcast(f, x[1 + i] - shift)).lane(0)
                    : VectorMath.exp(x[1 + i] - shift);
            assertThat(Float.floatToRawIntBits(y[1 + i])).as("element %d of x - shift = %s", i, x[1 + i] - shift)
                    .isEqualTo(Float.floatToRawIntBits(expected));
        }
    }
}
