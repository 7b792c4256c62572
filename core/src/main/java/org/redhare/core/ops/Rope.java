package org.redhare.core.ops;

/**
 * Rotary position embedding. The frequencies (one per rotated pair, after any scaling such as llama3,
 * linear or YaRN) and an attention factor that multiplies cos and sin (YaRN's mscale; 1 otherwise)
 * come from the model configuration. Angles are computed in double precision.
 */
public final class Rope {
    /** How the rotated pairs are laid out inside a head. */
    public enum Layout {
        /** Hugging Face's rotate_half: dim {@code i} pairs with {@code i + rotaryDim/2}. */
        HALF,
        /** Adjacent pairs {@code (2i, 2i+1)}: GGUF llama weights, DeepSeek's rope part. */
        INTERLEAVED
    }

    private final double[] invFreq; // [rotaryDim / 2]
    private final float attentionFactor;
    private final Layout layout;

    public Rope(double[] invFreq, float attentionFactor, Layout layout) {
        this.invFreq = invFreq.clone();
        this.attentionFactor = attentionFactor;
        this.layout = layout;
    }

    public int rotaryDim() {
        return invFreq.length * 2;
    }

    /** Fills {@code cos}/{@code sin} {@code [off, off + rotaryDim/2)} for one position. */
    public void angles(int position, float[] cos, float[] sin, int off) {
        for (int i = 0; i < invFreq.length; i++) {
            double a = position * invFreq[i];
            cos[off + i] = (float) (Math.cos(a) * attentionFactor);
            sin[off + i] = (float) (Math.sin(a) * attentionFactor);
        }
    }

    /**
     * Rotates {@code heads} heads of {@code headDim} stored from {@code off}; the first
     * {@code rotaryDim} dims of each head rotate, the rest pass through.
     */
    public void apply(float[] x, int off, int heads, int headDim, float[] cos, float[] sin, int angleOff) {
        int half = invFreq.length;
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            if (layout == Layout.HALF) {
                for (int i = 0; i < half; i++) {
                    float x0 = x[b + i];
                    float x1 = x[b + i + half];
                    float c = cos[angleOff + i];
                    float s = sin[angleOff + i];
                    x[b + i] = x0 * c - x1 * s;
                    x[b + i + half] = x1 * c + x0 * s;
                }
            } else {
                for (int i = 0; i < half; i++) {
                    float x0 = x[b + 2 * i];
                    float x1 = x[b + 2 * i + 1];
                    float c = cos[angleOff + i];
                    float s = sin[angleOff + i];
                    x[b + 2 * i] = x0 * c - x1 * s;
                    x[b + 2 * i + 1] = x1 * c + x0 * s;
                }
            }
        }
    }
}
