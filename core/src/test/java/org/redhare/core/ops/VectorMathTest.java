package org.redhare.core.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class VectorMathTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Test
    void expIsWithinTwoUlpOfMathExpAndMatchesItsScalarTwin() {
        Random rnd = new Random(7);
        float[] x = new float[4096];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextDouble() * 175 - 87); // below about -87.3 the result is flushed to zero (tested below)
        }
        x[0] = 0f;
        x[1] = -0f;
        x[2] = 1f;
        x[3] = -1e-8f;
        x[4] = 88.5f;
        x[5] = -87.3f;
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += F.length()) {
            VectorMath.exp(FloatVector.fromArray(F, x, i)).intoArray(y, i);
        }
        for (int i = 0; i < x.length; i++) {
            float ref = (float) Math.exp(x[i]);
            assertThat(Math.abs(y[i] - ref)).as("exp(%s)", x[i]).isLessThanOrEqualTo(2 * Math.ulp(ref));
            assertThat(VectorMath.exp(x[i])).as("scalar exp(%s)", x[i]).isEqualTo(y[i]);
        }
        assertThat(VectorMath.exp(0f)).isEqualTo(1f);
    }

    @Test
    void expHandlesTheEdges() {
        float[] x = new float[F.length()];
        java.util.Arrays.fill(x, Float.NEGATIVE_INFINITY);
        x[0] = -87.99f;
        x[1] = Float.POSITIVE_INFINITY;
        if (x.length > 2) x[2] = 100f;
        if (x.length > 3) x[3] = Float.NaN;
        float[] y = new float[x.length];
        VectorMath.exp(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
        assertThat(y[0]).isZero();
        assertThat(y[1]).isEqualTo(Float.POSITIVE_INFINITY);
        if (x.length > 2) assertThat(y[2]).isEqualTo(Float.POSITIVE_INFINITY);
        if (x.length > 3) assertThat(y[3]).isNaN();
        for (int i = 4; i < x.length; i++) assertThat(y[i]).isZero();
        assertThat(VectorMath.exp(Float.NEGATIVE_INFINITY)).isZero();
        assertThat(VectorMath.exp(Float.NaN)).isNaN();
    }

    @Test
    void sumAddsEveryLaneInAFixedTreeOrder() {
        Random rnd = new Random(3);
        int l = F.length();
        for (int trial = 0; trial < 100; trial++) {
            float[] v = new float[l];
            for (int i = 0; i < l; i++) {
                v[i] = (float) rnd.nextGaussian() * (float) Math.pow(10, rnd.nextInt(8) - 4);
            }
            // the documented order: lane i plus lane i + L/2, halving until one lane is left
            float[] t = v.clone();
            for (int width = l / 2; width >= 1; width /= 2) {
                for (int i = 0; i < width; i++) {
                    t[i] = t[i] + t[i + width];
                }
            }
            assertThat(VectorMath.sum(FloatVector.fromArray(F, v, 0))).isEqualTo(t[0]);
        }
    }

    @Test
    void sixteenSumsAtOnceMatchSumBitForBit() {
        java.util.Random rnd = new java.util.Random(16);
        int l = F.length();
        for (int trial = 0; trial < 200; trial++) {
            float[] in = new float[5 + 16 * l];
            float[] expected = new float[16];
            for (int k = 0; k < 16; k++) {
                float[] v = new float[l];
                for (int i = 0; i < l; i++) {
                    v[i] = (float) rnd.nextGaussian() * (float) Math.pow(10, rnd.nextInt(12) - 6);
                }
                if (trial % 50 == 7) {
                    v[rnd.nextInt(l)] = Float.POSITIVE_INFINITY; // infinities and signed zeros too
                    v[rnd.nextInt(l)] = -0f;
                }
                System.arraycopy(v, 0, in, 5 + k * l, l);
                expected[k] = VectorMath.sum(FloatVector.fromArray(F, v, 0));
            }
            float[] out = new float[20];
            VectorMath.sum16(in, 5, out, 3);
            for (int k = 0; k < 16; k++) {
                assertThat(Float.floatToRawIntBits(out[3 + k])).as("sum %d", k).isEqualTo(Float.floatToRawIntBits(expected[k]));
            }
        }
    }
}
