package org.redhare.core;

/** Scalar conversions between float and the 16- and 8-bit float formats. */
public final class Numbers {
    private Numbers() {}

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Round to nearest even, as PyTorch does; NaN stays NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }

    /**
     * Exact FP8 E4M3FN decoding by bit arithmetic (no table): place sign, exponent and mantissa into
     * a float and correct the exponent bias (127 - 7 = 120) with one multiplication. Subnormals come
     * out exact because the float carrying them is a normal number. 0x7F/0xFF decode to NaN.
     */
    public static float e4m3ToFloat(byte b) {
        int v = b & 0xFF;
        if ((v & 0x7F) == 0x7F) {
            return Float.NaN;
        }
        float scaled = Float.intBitsToFloat(((v & 0x80) << 24) | ((v & 0x7F) << 20));
        return scaled * 0x1p120f;
    }

    /** Round to nearest even, saturating at ±448 (the E4M3FN maximum). NaN maps to 0x7F. */
    public static byte floatToE4m3(float f) {
        if (Float.isNaN(f)) {
            return 0x7F;
        }
        int sign = f < 0 || (f == 0 && 1 / f < 0) ? 0x80 : 0;
        float a = Math.abs(f);
        if (a >= 448f) {
            return (byte) (sign | 0x7E);
        }
        // Candidates: search by rounding in the E4M3 grid. Exponent field e in [1,15], mantissa m in [0,7];
        // subnormals e = 0: value m * 2^-9.
        if (a < 0x1p-6f) { // subnormal range: step 2^-9
            int m = (int) Math.rint(a * 512f); // rint is round-half-even
            return (byte) (sign | m); // m == 8 becomes the smallest normal (e=1,m=0), encoded as 0x08
        }
        int exp = Math.getExponent(a); // a in [2^exp, 2^(exp+1))
        float step = Math.scalb(1f, exp - 3);
        float q = (float) Math.rint(a / step) * step;
        int e = Math.getExponent(q);
        int m = (int) (q / Math.scalb(1f, e - 3)) - 8;
        int code = ((e + 7) << 3) | m;
        if (code > 0x7E) {
            code = 0x7E;
        }
        return (byte) (sign | code);
    }
}
