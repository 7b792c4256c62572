package org.redhare.core.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector reductions and functions whose results do not depend on how the JVM runs them.
 *
 * <p>Why not {@code reduceLanes(ADD)} and {@code lanewise(EXP)}: the Vector API lets a float sum
 * reduction add lanes in any order and lets {@code EXP} use a platform library, and in practice the
 * interpreted (Java) implementation and the JIT-compiled intrinsic differ in the last bit. A kernel then
 * gives different bits for the same input depending on whether it had been compiled yet — so a request
 * would not get the same tokens alone as in a batch, run early or late. Everything here is built only
 * from lane-wise IEEE operations (add, multiply, fused multiply-add, lane permutations, bit
 * arithmetic), which both implementations compute exactly alike.
 */
public final class VectorMath {
    private VectorMath() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    /** Lane i takes lane i + L/2^k (mod L): the halving steps of a fixed-order tree sum. */
    private static final VectorShuffle<Float> HALF = VectorShuffle.iota(F, Math.max(1, L / 2), 1, true);
    private static final VectorShuffle<Float> QUARTER = VectorShuffle.iota(F, Math.max(1, L / 4), 1, true);
    private static final VectorShuffle<Float> EIGHTH = VectorShuffle.iota(F, Math.max(1, L / 8), 1, true);
    private static final VectorShuffle<Float> SIXTEENTH = VectorShuffle.iota(F, Math.max(1, L / 16), 1, true);

    /**
     * Sum of all lanes in a fixed tree order: {@code (v[i] + v[i+L/2])}, then halves again. Same bits
     * compiled or interpreted, for vectors of 4, 8 or 16 floats.
     */
    public static float sum(FloatVector v) {
        if (L >= 16) {
            v = v.add(v.rearrange(HALF));
            v = v.add(v.rearrange(QUARTER));
            v = v.add(v.rearrange(EIGHTH));
            v = v.add(v.rearrange(SIXTEENTH));
        } else if (L == 8) {
            v = v.add(v.rearrange(HALF));
            v = v.add(v.rearrange(QUARTER));
            v = v.add(v.rearrange(EIGHTH));
        } else if (L == 4) {
            v = v.add(v.rearrange(HALF));
            v = v.add(v.rearrange(QUARTER));
        } else {
            float s = 0f;
            for (int i = 0; i < L; i++) {
                s += v.lane(i);
            }
            return s;
        }
        return v.lane(0);
    }

    /**
     * {@link #sum} of the vector stored at {@code buf[off ...]}. For kernels too large for the JIT to inline
     * {@code sum} into: a call that is not inlined then costs a call, not a boxed vector.
     */
    public static float sum(float[] buf, int off) {
        return sum(FloatVector.fromArray(F, buf, off));
    }

    /*
     * Sixteen sums at once, each in exactly sum()'s order: every step adds the same pairs of lanes as
     * one halving step of sum(), but for two vectors per instruction (two-vector lane selection), so 16
     * sums cost 15 adds and 30 selections instead of 16 x (4 adds + 4 permutes + a lane extraction).
     * Index vectors for step s (s = L/2, L/4, ...): a source vector holds groups of 2s partial lanes per
     * output; the low selection takes the first s of each group, the high one the last s, from the
     * first source into output lanes [0, L/2) and from the second into [L/2, L).
     */
    private static final FloatVector[] PAIR_LO = new FloatVector[5];
    private static final FloatVector[] PAIR_HI = new FloatVector[5];

    static {
        for (int k = 1, s = L / 2; s >= 1; k++, s /= 2) {
            float[] lo = new float[L];
            float[] hi = new float[L];
            for (int j = 0; j < L; j++) {
                int src = j < L / 2 ? 0 : L;
                int jj = j % (L / 2);
                int base = src + jj / s * 2 * s + jj % s;
                lo[j] = base;
                hi[j] = base + s;
            }
            PAIR_LO[k] = FloatVector.fromArray(F, lo, 0);
            PAIR_HI[k] = FloatVector.fromArray(F, hi, 0);
        }
    }

    private static final FloatVector LO1 = L == 16 ? PAIR_LO[1] : null, HI1 = L == 16 ? PAIR_HI[1] : null;
    private static final FloatVector LO2 = L == 16 ? PAIR_LO[2] : null, HI2 = L == 16 ? PAIR_HI[2] : null;
    private static final FloatVector LO3 = L == 16 ? PAIR_LO[3] : null, HI3 = L == 16 ? PAIR_HI[3] : null;
    private static final FloatVector LO4 = L == 16 ? PAIR_LO[4] : null, HI4 = L == 16 ? PAIR_HI[4] : null;

    /** True when {@link #sum16} runs as one transposed reduction (16-float vectors). */
    public static final boolean SUM16_TRANSPOSED = L == 16;

    /*
     * Eight sums at once for 8-float vectors (AVX2), each in exactly sum()'s order. AVX2 has no two-vector lane
     * selection, so each step adds a vector to its own rearrangement, as sum() does, for two vectors, and a blend
     * keeps the lanes that matter of each: the step-1 lanes 0-3 of one input (v[i] + v[i+4]) and 4-7 of the other
     * (v[i] + v[i-4], the same two values in the other order, so the same bits); then the step-2 pairs within each
     * half ([2,3,0,1] rather than sum()'s rotation by 2, which would cross the halves in the lanes kept from the
     * second vector); then neighbours. Inputs taken as (0,4), (2,6), (1,5), (3,7) come out in order 0..7.
     * 35 vector operations for eight sums against about 60 for eight sum() calls and their lane extractions.
     */
    private static final VectorShuffle<Float> PAIRS2 = L == 8 ? VectorShuffle.fromValues(F, 2, 3, 0, 1, 6, 7, 4, 5) : null;
    private static final VectorShuffle<Float> PAIRS1 = L == 8 ? VectorShuffle.fromValues(F, 1, 0, 3, 2, 5, 4, 7, 6) : null;
    private static final VectorMask<Float> UPPER4 = L == 8 ? VectorMask.fromValues(F, false, false, false, false, true, true, true, true) : null;
    private static final VectorMask<Float> UPPER2 = L == 8 ? VectorMask.fromValues(F, false, false, true, true, false, false, true, true) : null;
    private static final VectorMask<Float> ODD = L == 8 ? VectorMask.fromValues(F, false, true, false, true, false, true, false, true) : null;

    /**
     * {@link #sum16} for 8-float vectors: two sets of eight sums, written out in one method so that their dependency
     * chains overlap (as helpers, the steps were left to the Java fallback of {@code blend}, and two calls of an
     * eight-sum method ran one after the other).
     */
    private static void sum16x8(float[] in, int inOff, float[] out, int outOff) {
        FloatVector a00 = FloatVector.fromArray(F, in, inOff), b00 = FloatVector.fromArray(F, in, inOff + 32);
        FloatVector a01 = FloatVector.fromArray(F, in, inOff + 16), b01 = FloatVector.fromArray(F, in, inOff + 48);
        FloatVector a02 = FloatVector.fromArray(F, in, inOff + 8), b02 = FloatVector.fromArray(F, in, inOff + 40);
        FloatVector a03 = FloatVector.fromArray(F, in, inOff + 24), b03 = FloatVector.fromArray(F, in, inOff + 56);
        FloatVector a10 = FloatVector.fromArray(F, in, inOff + 64), b10 = FloatVector.fromArray(F, in, inOff + 64 + 32);
        FloatVector a11 = FloatVector.fromArray(F, in, inOff + 64 + 16), b11 = FloatVector.fromArray(F, in, inOff + 64 + 48);
        FloatVector a12 = FloatVector.fromArray(F, in, inOff + 64 + 8), b12 = FloatVector.fromArray(F, in, inOff + 64 + 40);
        FloatVector a13 = FloatVector.fromArray(F, in, inOff + 64 + 24), b13 = FloatVector.fromArray(F, in, inOff + 64 + 56);
        FloatVector p00 = a00.add(a00.rearrange(HALF)).blend(b00.add(b00.rearrange(HALF)), UPPER4);
        FloatVector p01 = a01.add(a01.rearrange(HALF)).blend(b01.add(b01.rearrange(HALF)), UPPER4);
        FloatVector p02 = a02.add(a02.rearrange(HALF)).blend(b02.add(b02.rearrange(HALF)), UPPER4);
        FloatVector p03 = a03.add(a03.rearrange(HALF)).blend(b03.add(b03.rearrange(HALF)), UPPER4);
        FloatVector p10 = a10.add(a10.rearrange(HALF)).blend(b10.add(b10.rearrange(HALF)), UPPER4);
        FloatVector p11 = a11.add(a11.rearrange(HALF)).blend(b11.add(b11.rearrange(HALF)), UPPER4);
        FloatVector p12 = a12.add(a12.rearrange(HALF)).blend(b12.add(b12.rearrange(HALF)), UPPER4);
        FloatVector p13 = a13.add(a13.rearrange(HALF)).blend(b13.add(b13.rearrange(HALF)), UPPER4);
        FloatVector q00 = p00.add(p00.rearrange(PAIRS2)).blend(p01.add(p01.rearrange(PAIRS2)), UPPER2);
        FloatVector q01 = p02.add(p02.rearrange(PAIRS2)).blend(p03.add(p03.rearrange(PAIRS2)), UPPER2);
        FloatVector q10 = p10.add(p10.rearrange(PAIRS2)).blend(p11.add(p11.rearrange(PAIRS2)), UPPER2);
        FloatVector q11 = p12.add(p12.rearrange(PAIRS2)).blend(p13.add(p13.rearrange(PAIRS2)), UPPER2);
        q00.add(q00.rearrange(PAIRS1)).blend(q01.add(q01.rearrange(PAIRS1)), ODD).intoArray(out, outOff);
        q10.add(q10.rearrange(PAIRS1)).blend(q11.add(q11.rearrange(PAIRS1)), ODD).intoArray(out, outOff + 8);
    }

    /**
     * {@code out[outOff + k] = sum(v_k)} for the 16 vectors {@code v_k} stored one after another at
     * {@code in[inOff + k * L]}, bit for bit equal to sixteen {@link #sum} calls. Kernels store their
     * accumulators and call this rather than passing sixteen vectors, which the JIT would box when the
     * call is not inlined. With 16-float vectors it runs as one transposed reduction.
     */
    public static void sum16(float[] in, int inOff, float[] out, int outOff) {
        if (L == 8) {
            if (in == out && outOff < inOff + 128 && inOff < outOff + 16) {
                throw new IllegalArgumentException("sum16: the sums would overwrite the inputs");
            }
            sum16x8(in, inOff, out, outOff);
            return;
        }
        if (L != 16) {
            for (int k = 0; k < 16; k++) {
                out[outOff + k] = sum(FloatVector.fromArray(F, in, inOff + k * L));
            }
            return;
        }
        FloatVector b0 = pair(LO1, HI1, in, inOff);
        FloatVector b1 = pair(LO1, HI1, in, inOff + 32);
        FloatVector b2 = pair(LO1, HI1, in, inOff + 64);
        FloatVector b3 = pair(LO1, HI1, in, inOff + 96);
        FloatVector b4 = pair(LO1, HI1, in, inOff + 128);
        FloatVector b5 = pair(LO1, HI1, in, inOff + 160);
        FloatVector b6 = pair(LO1, HI1, in, inOff + 192);
        FloatVector b7 = pair(LO1, HI1, in, inOff + 224);
        FloatVector c0 = LO2.selectFrom(b0, b1).add(HI2.selectFrom(b0, b1));
        FloatVector c1 = LO2.selectFrom(b2, b3).add(HI2.selectFrom(b2, b3));
        FloatVector c2 = LO2.selectFrom(b4, b5).add(HI2.selectFrom(b4, b5));
        FloatVector c3 = LO2.selectFrom(b6, b7).add(HI2.selectFrom(b6, b7));
        FloatVector d0 = LO3.selectFrom(c0, c1).add(HI3.selectFrom(c0, c1));
        FloatVector d1 = LO3.selectFrom(c2, c3).add(HI3.selectFrom(c2, c3));
        LO4.selectFrom(d0, d1).add(HI4.selectFrom(d0, d1)).intoArray(out, outOff);
    }

    private static FloatVector pair(FloatVector lo, FloatVector hi, float[] in, int off) {
        FloatVector a = FloatVector.fromArray(F, in, off);
        FloatVector b = FloatVector.fromArray(F, in, off + 16);
        return lo.selectFrom(a, b).add(hi.selectFrom(a, b));
    }

    private static final float LOG2E = 1.44269504088896341f;
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^9
    private static final float LN2_HI = 0.693145751953125f;
    private static final float LN2_LO = 1.42860682030941723212e-6f;
    /** 1.5 * 2^23: adding it rounds a float in [-2^22, 2^22] to the nearest integer (ties to even). */
    private static final float ROUND = 12582912f;
    private static final float MAX_ARG = 88.7f;
    private static final float MIN_ARG = -87.33654f;
    // Taylor coefficients 1/k! of e^r on |r| <= ln2/2 (error below 2e-7 relative)
    private static final FloatVector ZERO = FloatVector.zero(F);
    private static final FloatVector INFINITY = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
    private static final float C2 = 0.5f;
    private static final float C3 = 1.6666667e-1f;
    private static final float C4 = 4.1666668e-2f;
    private static final float C5 = 8.333334e-3f;
    private static final float C6 = 1.3888889e-3f;
    private static final float C7 = 1.984127e-4f;

    /**
     * {@code e^x} lane-wise, within about 2 ulp of {@link Math#exp}; {@code 0} below about -87.3
     * (including {@code -Infinity}), {@code +Infinity} above 88.7. NaN lanes give NaN.
     */
    public static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, MIN_ARG);
        VectorMask<Float> over = x.compare(VectorOperators.GT, MAX_ARG);
        FloatVector c = x.max(MIN_ARG).min(MAX_ARG);
        FloatVector t = c.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), c);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, FloatVector.broadcast(F, C5));
        p = p.fma(r, FloatVector.broadcast(F, C4));
        p = p.fma(r, FloatVector.broadcast(F, C3));
        p = p.fma(r, FloatVector.broadcast(F, C2));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        // 2^n by building the exponent: n lies in [-126, 128]; split into two factors so n = 128 works
        IntVector ni = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND));
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector result = p.mul(s1).mul(s2);
        result = result.blend(ZERO, under);
        result = result.blend(INFINITY, over);
        // NaN compares false both ways and propagates through the arithmetic above
        return result;
    }

    /**
     * {@code x[i] = exp(x[i] - shift)} over the range if {@code write}, and the sum of those exponentials either way (lanes
     * summed by {@link #sum}, then the tail in order): {@link #exp(FloatVector)}'s operations written out in the loop.
     *
     * <p>Why not a call to {@link #exp(FloatVector)}: a vector passed to or returned from a method C2 does not inline is
     * boxed, and whether C2 inlines {@code exp} depends on the order of compiles. Once {@code exp} had its own compiled code,
     * the softmax loop's compile refused it ("already compiled into a medium method", {@code -XX:CompileCommand=PrintInlining}),
     * and every vector of attention's softmax and of the sampler's was allocated: about 80 MB/s of garbage in a 16-user
     * decode (JFR's allocation samples), which this loop does not make. Same operations in the same order, so the same bits.
     */
    static float expSum(float[] x, int off, int len, float shift, boolean write) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= len; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, off + i).sub(shift);
            VectorMask<Float> under = v.compare(VectorOperators.LT, MIN_ARG);
            VectorMask<Float> over = v.compare(VectorOperators.GT, MAX_ARG);
            FloatVector c = v.max(MIN_ARG).min(MAX_ARG);
            FloatVector t = c.fma(LOG2E, ROUND);
            FloatVector n = t.sub(ROUND);
            FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), c);
            r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
            FloatVector p = r.fma(C7, C6);
            p = p.fma(r, FloatVector.broadcast(F, C5));
            p = p.fma(r, FloatVector.broadcast(F, C4));
            p = p.fma(r, FloatVector.broadcast(F, C3));
            p = p.fma(r, FloatVector.broadcast(F, C2));
            p = p.fma(r, FloatVector.broadcast(F, 1f));
            p = p.fma(r, FloatVector.broadcast(F, 1f));
            IntVector ni = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND));
            IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
            FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.mul(s1).mul(s2).blend(ZERO, under).blend(INFINITY, over);
            if (write) {
                e.intoArray(x, off + i);
            }
            acc = acc.add(e);
        }
        float sum = sum(acc);
        for (; i < len; i++) {
            float e = exp(x[off + i] - shift);
            if (write) {
                x[off + i] = e;
            }
            sum += e;
        }
        return sum;
    }

    /**
     * The constants of {@link #exp(FloatVector)}, for machine code that computes it with the same operations (a kernel
     * has no data section): MIN_ARG, MAX_ARG, LOG2E, ROUND, -LN2_HI, -LN2_LO, C2 .. C7, 1, -infinity, infinity.
     */
    public static float[] expConstants() {
        return new float[] {MIN_ARG, MAX_ARG, LOG2E, ROUND, -LN2_HI, -LN2_LO, C2, C3, C4, C5, C6, C7, 1f, Float.NEGATIVE_INFINITY,
                Float.POSITIVE_INFINITY};
    }

    /** Scalar twin of {@link #exp(FloatVector)} with identical results, for loop tails. */
    public static float exp(float x) {
        if (x < MIN_ARG) return 0f;
        if (x > MAX_ARG) return Float.POSITIVE_INFINITY;
        if (Float.isNaN(x)) return x;
        float t = Math.fma(x, LOG2E, ROUND);
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, C7, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int ni = Float.floatToRawIntBits(t) - Float.floatToRawIntBits(ROUND);
        int half = ni >> 1;
        float s1 = Float.intBitsToFloat((half + 127) << 23);
        float s2 = Float.intBitsToFloat((ni - half + 127) << 23);
        return p * s1 * s2;
    }
}
