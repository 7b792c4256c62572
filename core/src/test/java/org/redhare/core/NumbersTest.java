package org.redhare.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NumbersTest {
    /** Reference decoding straight from the E4M3FN definition (bias 7, subnormals m * 2^-9). */
    static double e4m3Reference(int code) {
        int sign = (code & 0x80) != 0 ? -1 : 1;
        int e = (code >> 3) & 0xF;
        int m = code & 7;
        if (e == 15 && m == 7) {
            return Double.NaN;
        }
        return e == 0 ? sign * m * Math.pow(2, -9) : sign * (1 + m / 8.0) * Math.pow(2, e - 7);
    }

    @Test
    void e4m3DecodesEveryCodeExactly() {
        for (int c = 0; c < 256; c++) {
            double ref = e4m3Reference(c);
            float got = Numbers.e4m3ToFloat((byte) c);
            if (Double.isNaN(ref)) {
                assertThat(got).isNaN();
            } else {
                assertThat((double) got).as("code 0x%02x", c).isEqualTo(ref);
                if (c != 0x80) {
                    assertThat(Numbers.floatToE4m3(got) & 0xFF).as("round trip 0x%02x", c).isEqualTo(c);
                }
            }
        }
    }

    @Test
    void e4m3RoundsToNearestEvenAndSaturates() {
        assertThat(Numbers.e4m3ToFloat(Numbers.floatToE4m3(1000f))).isEqualTo(448f);
        assertThat(Numbers.e4m3ToFloat(Numbers.floatToE4m3(-1000f))).isEqualTo(-448f);
        // 1.0625 is halfway between 1.0 (m=0) and 1.125 (m=1): ties to even -> 1.0
        assertThat(Numbers.e4m3ToFloat(Numbers.floatToE4m3(1.0625f))).isEqualTo(1.0f);
        // 1.1875 halfway between 1.125 (m=1) and 1.25 (m=2) -> 1.25
        assertThat(Numbers.e4m3ToFloat(Numbers.floatToE4m3(1.1875f))).isEqualTo(1.25f);
        // subnormal halfway: 1.5 * 2^-9 -> 2 * 2^-9
        assertThat(Numbers.e4m3ToFloat(Numbers.floatToE4m3(1.5f * 0x1p-9f))).isEqualTo(2 * 0x1p-9f);
        // 464 is halfway between 448 and 480 (not representable): saturates to 448
        assertThat(Numbers.e4m3ToFloat(Numbers.floatToE4m3(440f))).isEqualTo(448f);
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertThat(Numbers.bf16ToFloat(Numbers.floatToBf16(1.0f))).isEqualTo(1.0f);
        float justAbove = Float.intBitsToFloat(0x3F808000); // exactly halfway between two bf16 values
        assertThat(Numbers.floatToBf16(justAbove)).isEqualTo((short) 0x3F80); // ties to even
        assertThat(Numbers.floatToBf16(Float.intBitsToFloat(0x3F818000))).isEqualTo((short) 0x3F82);
    }
}
