package org.redhare.core.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise and row-wise kernels over float activations ({@code [n, dim]} row-major). */
public final class Ops {
    private Ops() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    /** Sum of squares with a float vector accumulator, finished in double. */
    private static double sumSquares(float[] x, int off, int len) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= len; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, off + i);
            acc = v.fma(v, acc);
        }
        double s = VectorMath.sum(acc);
        for (; i < len; i++) {
            s += (double) x[off + i] * x[off + i];
        }
        return s;
    }

    /**
     * RMSNorm of each row of {@code x} ({@code n} rows of {@code dim}) into {@code out}:
     * {@code out = x / sqrt(mean(x^2) + eps) * weight}. {@code out} may be {@code x}.
     */
    public static void rmsNorm(float[] x, float[] weight, float eps, int n, int dim, float[] out) {
        for (int t = 0; t < n; t++) {
            rmsNormRow(x, t * dim, weight, eps, dim, out, t * dim);
        }
    }

    /** RMSNorm of one row of length {@code dim} (also used per attention head for q/k norms). */
    public static void rmsNormRow(float[] x, int xOff, float[] weight, float eps, int dim, float[] out, int outOff) {
        float inv = (float) (1.0 / Math.sqrt(sumSquares(x, xOff, dim) / dim + eps));
        int i = 0;
        for (; i + L <= dim; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i).mul(inv).mul(FloatVector.fromArray(F, weight, i));
            v.intoArray(out, outOff + i);
        }
        for (; i < dim; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    /** {@code a[i] += b[i]} for {@code i < len}. */
    public static void addInPlace(float[] a, float[] b, int len) {
        int i = 0;
        for (; i + L <= len; i += L) {
            FloatVector.fromArray(F, a, i).add(FloatVector.fromArray(F, b, i)).intoArray(a, i);
        }
        for (; i < len; i++) {
            a[i] += b[i];
        }
    }

    /** Adds the bias {@code [dim]} to each of {@code n} rows. */
    public static void addBias(float[] x, float[] bias, int n, int dim) {
        for (int t = 0; t < n; t++) {
            int o = t * dim;
            int i = 0;
            for (; i + L <= dim; i += L) {
                FloatVector.fromArray(F, x, o + i).add(FloatVector.fromArray(F, bias, i)).intoArray(x, o + i);
            }
            for (; i < dim; i++) {
                x[o + i] += bias[i];
            }
        }
    }

    /**
     * SwiGLU: {@code out[t, i] = silu(gateUp[t, i]) * gateUp[t, dim + i]} where each row of
     * {@code gateUp} holds the gate projection followed by the up projection ({@code [n, 2*dim]}).
     */
    public static void siluGateMul(float[] gateUp, int n, int dim, float[] out) {
        for (int t = 0; t < n; t++) {
            int g = t * 2 * dim;
            int o = t * dim;
            for (int i = 0; i < dim; i++) {
                float a = gateUp[g + i];
                out[o + i] = a / (1f + (float) Math.exp(-a)) * gateUp[g + dim + i];
            }
        }
    }

    /** SwiGLU with gate and up in separate arrays ({@code [n, dim]} each); exp from {@link VectorMath}. */
    public static void siluMul(float[] gate, float[] up, int len, float[] out) {
        siluMul(gate, 0, up, 0, len, out, 0);
    }

    /**
     * GeGLU with the tanh approximation (Gemma's {@code gelu_pytorch_tanh}): {@code out = gelu(gate) * up} with
     * {@code gelu(a) = 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3)))}, computed as {@code a * sigmoid(2y)} (the same
     * function, since {@code (1 + tanh y) / 2 = sigmoid(2y)}; no cancellation near 0) with exp from {@link VectorMath}.
     */
    public static void geluTanhMul(float[] gate, int g, float[] up, int u, int len, float[] out, int o) {
        final float k = (float) (-2 * Math.sqrt(2 / Math.PI)); // -2 sqrt(2/pi): exp(k y') = exp(-2y)
        final float c = 0.044715f;
        int i = 0;
        for (; i + L <= len; i += L) {
            FloatVector a = FloatVector.fromArray(F, gate, g + i);
            FloatVector y = a.mul(a).mul(c).mul(a).add(a).mul(k);
            a.div(VectorMath.exp(y).add(1f)).mul(FloatVector.fromArray(F, up, u + i)).intoArray(out, o + i);
        }
        for (; i < len; i++) {
            float a = gate[g + i];
            out[o + i] = a / (1f + VectorMath.exp((a * a * c * a + a) * k)) * up[u + i]; // the vector lanes' order
        }
    }

    /** {@code out[o + i] = silu(gate[g + i]) * up[u + i]} for {@code i < len}. */
    public static void siluMul(float[] gate, int g, float[] up, int u, int len, float[] out, int o) {
        int i = 0;
        for (; i + L <= len; i += L) {
            FloatVector a = FloatVector.fromArray(F, gate, g + i);
            FloatVector e = VectorMath.exp(a.neg());
            a.div(e.add(1f)).mul(FloatVector.fromArray(F, up, u + i)).intoArray(out, o + i);
        }
        for (; i < len; i++) {
            float a = gate[g + i];
            out[o + i] = a / (1f + VectorMath.exp(-a)) * up[u + i];
        }
    }

    /** In-place softmax of {@code x[off .. off+len)} (sums to one). */
    public static void softmax(float[] x, int off, int len) {
        float sum = expShifted(x, off, len, max(x, off, len));
        float inv = 1f / sum;
        int i = 0;
        for (; i + L <= len; i += L) {
            FloatVector.fromArray(F, x, off + i).mul(inv).intoArray(x, off + i);
        }
        for (; i < len; i++) {
            x[off + i] *= inv;
        }
    }

    /** The largest of {@code x[off .. off+len)} ({@code -Infinity} when empty; NaN if any is NaN, as {@link Math#max}). */
    public static float max(float[] x, int off, int len) {
        float max = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (len >= L) {
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i + L <= len; i += L) {
                // lanewise(MAX), not max(): max() is a final FloatVector method whose own call to lanewise() has one
                // profile for every caller in the process, and where that profile was missing C2 left the call virtual
                // inside attention (a compile of Attention.attendGroup, -XX:+PrintInlining), which then ran the Vector
                // API's Java fallback, allocating every vector (hundreds of MB a second in a 16-user decode). Called
                // here, lanewise() takes this call site's profile.
                m = m.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, x, off + i));
            }
            max = m.reduceLanes(VectorOperators.MAX); // exact in any order
        }
        for (; i < len; i++) {
            max = Math.max(max, x[off + i]);
        }
        return max;
    }

    /** The sum {@link #expShifted} returns, bit for bit, without writing the exponentials back. */
    public static float sumExpShifted(float[] x, int off, int len, float shift) {
        return VectorMath.expSum(x, off, len, shift, false);
    }

    /** {@code x[i] = exp(x[i] - shift)} in place; returns the sum. */
    public static float expShifted(float[] x, int off, int len, float shift) {
        return VectorMath.expSum(x, off, len, shift, true);
    }

    /** Dot product of two float ranges. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int len) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= len; i += L) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float s = VectorMath.sum(acc);
        for (; i < len; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** {@code y[yOff + i] += a * x[xOff + i]}. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int len) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i + L <= len; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }
}
