package org.redhare.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.redhare.core.ops.Rope;

/**
 * Rotary frequencies from {@code rope_theta} and {@code rope_scaling}, computed as the transformers
 * rope initialisation functions do (in double precision). Supported scaling types: none/default,
 * {@code linear}, {@code llama3}, {@code yarn}. {@code dynamic} NTK scaling is rejected: its
 * frequencies change with the running sequence length, which a paged cache shared across steps
 * cannot honour exactly. {@link #FREQUENCY_DIVISORS} carries explicit per-pair divisors (from GGUF files).
 */
public final class RopeConfig {
    private RopeConfig() {}

    /**
     * A {@code rope_type} of RedHare's own, not a transformers one: {@code "divisors"} lists one value per rotated
     * pair that divides that pair's frequency (llama.cpp's {@code freq_factors}). A GGUF's {@code rope_freqs.weight}
     * becomes this, which is how llama.cpp's converter stores Llama 3.1+'s {@code llama3} scaling.
     */
    public static final String FREQUENCY_DIVISORS = "redhare_frequency_divisors";

    public static Rope build(ModelConfig c, int rotaryDim, Rope.Layout layout) {
        return build(c.ropeTheta(), rotaryDim, c.ropeScaling(), c.maxPositionEmbeddings(), layout, c.architecture());
    }

    public static Rope build(double theta, int dim, JsonNode scaling, int maxPos, Rope.Layout layout, String arch) {
        int half = dim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / dim);
        }
        float attentionFactor = 1f;
        String type = scaling == null ? "default" : scaling.path("rope_type").asText(scaling.path("type").asText("default"));
        switch (type) {
            case "default" -> { }
            case "linear" -> {
                double factor = factor(scaling, arch);
                for (int i = 0; i < half; i++) {
                    inv[i] /= factor;
                }
            }
            case "llama3" -> {
                double factor = factor(scaling, arch);
                double low = scaling.path("low_freq_factor").asDouble(1.0);
                double high = scaling.path("high_freq_factor").asDouble(4.0);
                double old = scaling.path("original_max_position_embeddings").asDouble(8192);
                double lowWavelen = old / low;
                double highWavelen = old / high;
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen < highWavelen) {
                        continue;
                    }
                    if (wavelen > lowWavelen) {
                        inv[i] = inv[i] / factor;
                    } else {
                        double smooth = (old / wavelen - low) / (high - low);
                        inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                    }
                }
            }
            case FREQUENCY_DIVISORS -> {
                JsonNode d = scaling.path("divisors");
                if (d.size() != half) {
                    throw new ModelLoadException(arch + ": " + d.size() + " RoPE frequency divisors for " + half + " rotated pairs");
                }
                for (int i = 0; i < half; i++) {
                    double v = d.get(i).asDouble();
                    if (!(v > 0) || Double.isInfinite(v)) {
                        throw new ModelLoadException(arch + ": RoPE frequency divisor " + i + " is " + v + "; each must be a positive number");
                    }
                    inv[i] /= v;
                }
            }
            case "yarn" -> {
                double factor = factor(scaling, arch);
                double orig = scaling.path("original_max_position_embeddings").asDouble(maxPos);
                double betaFast = scaling.path("beta_fast").asDouble(32);
                double betaSlow = scaling.path("beta_slow").asDouble(1);
                boolean truncate = scaling.path("truncate").asBoolean(true);
                double lowD = correctionDim(betaFast, dim, theta, orig);
                double highD = correctionDim(betaSlow, dim, theta, orig);
                if (truncate) {
                    lowD = Math.floor(lowD);
                    highD = Math.ceil(highD);
                }
                lowD = Math.max(lowD, 0);
                highD = Math.min(highD, dim - 1);
                if (lowD == highD) {
                    highD += 0.001;
                }
                for (int i = 0; i < half; i++) {
                    double ramp = Math.min(1, Math.max(0, (i - lowD) / (highD - lowD)));
                    double extrapolation = 1 - ramp;
                    double interp = inv[i] / factor;
                    inv[i] = interp * (1 - extrapolation) + inv[i] * extrapolation;
                }
                JsonNode af = scaling.path("attention_factor");
                if (af.isNumber()) {
                    attentionFactor = (float) af.asDouble();
                } else {
                    JsonNode ms = scaling.path("mscale");
                    JsonNode msAll = scaling.path("mscale_all_dim");
                    if (ms.isNumber() && msAll.isNumber()) {
                        attentionFactor = (float) (yarnMscale(factor, ms.asDouble()) / yarnMscale(factor, msAll.asDouble()));
                    } else {
                        attentionFactor = (float) yarnMscale(factor, 1.0);
                    }
                }
            }
            default -> throw new ModelLoadException("rope_scaling type '" + type + "' of " + arch
                    + " is not supported; RedHare supports default, linear, llama3 and yarn");
        }
        return new Rope(inv, attentionFactor, layout);
    }

    /** YaRN's magnitude correction {@code 0.1 * mscale * ln(factor) + 1} (1 for factor <= 1). */
    public static double yarnMscale(double factor, double mscale) {
        return factor <= 1 ? 1.0 : 0.1 * mscale * Math.log(factor) + 1.0;
    }

    private static double correctionDim(double rotations, int dim, double base, double maxPos) {
        return dim * Math.log(maxPos / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    private static double factor(JsonNode scaling, String arch) {
        JsonNode f = scaling.path("factor");
        if (!f.isNumber() || f.asDouble() < 1) {
            throw new ModelLoadException("rope_scaling of " + arch + " needs a numeric \"factor\" >= 1, got " + f);
        }
        return f.asDouble();
    }
}
