package org.redhare.model.arch;

import java.util.List;
import org.redhare.core.Parallel;
import org.redhare.core.matrix.WeightMatrix;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.RopeConfig;
import org.redhare.model.Weights;
import org.redhare.model.layers.Block;
import org.redhare.model.layers.Decoder;
import org.redhare.model.layers.GatedMlp;
import org.redhare.model.layers.GroupedQueryAttention;
import org.redhare.model.layers.Workspace;

/**
 * Builds the shared blocks from Hugging Face tensor names; family classes call it to describe their
 * topology in a few lines.
 */
public final class Wiring {
    public final ModelConfig config;
    public final Weights weights;
    public final Workspace workspace = new Workspace();
    public final int hidden;
    public final float eps;
    private final Checkpoint checkpoint;
    private final Parallel pool;

    public Wiring(ModelConfig config, Checkpoint checkpoint, Parallel pool) {
        this.config = config;
        this.checkpoint = checkpoint;
        this.pool = pool;
        this.weights = new Weights(checkpoint, org.redhare.model.Fp8Scheme.of(config), pool);
        this.hidden = config.hiddenSize();
        this.eps = (float) config.rmsNormEps();
    }

    public float[] norm(String name, int dim) {
        return weights.vector(name, dim);
    }

    public WeightMatrix matrix(String name, int rows, int cols) {
        return weights.matrix(name, rows, cols);
    }

    /** Rotate-half RoPE over {@code headDim * partial_rotary_factor} dims, from rope_theta and rope_scaling. */
    public Rope rope(int headDim, Rope.Layout layout) {
        int rotary = (int) (headDim * config.partialRotaryFactor());
        return RopeConfig.build(config, rotary - rotary % 2, layout);
    }

    /** Llama-style attention at {@code prefix} ("model.layers.N.self_attn."). */
    public GroupedQueryAttention gqa(String prefix, boolean bias, boolean qkNorm, Rope rope) {
        return gqa(prefix, bias, qkNorm, 0f, rope);
    }

    /** As above, with {@code normOffset} added to the q/k norm weights (Gemma's norms multiply by {@code 1 + w}). */
    public GroupedQueryAttention gqa(String prefix, boolean bias, boolean qkNorm, float normOffset, Rope rope) {
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int headDim = config.headDim();
        if (heads % kvHeads != 0) {
            throw new ModelLoadException("num_attention_heads (" + heads + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
        }
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        float[] qBias = bias ? weights.vector(prefix + "q_proj.bias", qDim) : null;
        float[] kBias = bias ? weights.vector(prefix + "k_proj.bias", kvDim) : null;
        float[] vBias = bias ? weights.vector(prefix + "v_proj.bias", kvDim) : null;
        float[] qNorm = qkNorm ? offset(weights.vector(prefix + "q_norm.weight", headDim), normOffset) : null;
        float[] kNorm = qkNorm ? offset(weights.vector(prefix + "k_norm.weight", headDim), normOffset) : null;
        // q, k, v, then o: the order the tensors were checked in before stacking, so a wrong shape names the same tensor
        WeightMatrix qkv = weights.stacked(pool, List.of(prefix + "q_proj.weight", prefix + "k_proj.weight", prefix + "v_proj.weight"),
                new int[] {qDim, kvDim, kvDim}, hidden);
        if (qkv != null) {
            return GroupedQueryAttention.stacked(qkv, matrix(prefix + "o_proj.weight", hidden, qDim), qBias, kBias, vBias, qNorm, kNorm, eps,
                    heads, kvHeads, headDim, rope, workspace);
        }
        return new GroupedQueryAttention(matrix(prefix + "q_proj.weight", qDim, hidden), matrix(prefix + "k_proj.weight", kvDim, hidden),
                matrix(prefix + "v_proj.weight", kvDim, hidden), matrix(prefix + "o_proj.weight", hidden, qDim), qBias, kBias, vBias,
                qNorm, kNorm, eps, heads, kvHeads, headDim, rope, workspace);
    }

    private static float[] offset(float[] v, float by) {
        for (int i = 0; i < v.length; i++) {
            v[i] += by;
        }
        return v;
    }

    /** SwiGLU MLP with the given tensor names (without ".weight"). */
    public GatedMlp mlp(String gate, String up, String down, int inter) {
        if (inter <= 0) {
            throw new ModelLoadException(config.architecture() + ": the intermediate size must be positive, got " + inter);
        }
        WeightMatrix gateUp = buildingExperts && keptInPlace(gate + ".weight") ? null
                : weights.stacked(pool, List.of(gate + ".weight", up + ".weight"), new int[] {inter, inter}, hidden);
        if (gateUp != null) {
            return GatedMlp.fused(gateUp, matrix(down + ".weight", hidden, inter), workspace);
        }
        return new GatedMlp(matrix(gate + ".weight", inter, hidden), matrix(up + ".weight", inter, hidden),
                matrix(down + ".weight", hidden, inter), workspace);
    }

    /**
     * A mixture's {@code n} experts, {@code make.apply(e)} each, built on the pool's threads: a layer's experts are
     * independent, and repacking thousands of quantized matrices was most of a mixture's load time (17 s for the six
     * layers of Qwen3-30B-A3B in Q4_0 on one thread).
     */
    public GatedMlp[] experts(int n, java.util.function.IntFunction<GatedMlp> make) {
        GatedMlp[] out = new GatedMlp[n];
        buildingExperts = true; // published to the workers by the pool's job hand-off
        try {
            pool.forRange(n, 1, (e0, e1, worker) -> {
                for (int e = e0; e < e1; e++) {
                    out[e] = make.apply(e);
                }
            });
        } finally {
            buildingExperts = false;
        }
        return out;
    }

    /**
     * True while {@link #experts} runs: experts whose weights are used in place keep gate and up apart. Stacking
     * ({@link Weights#stacked}) copies matrices that BF16, F16 and F32 checkpoints otherwise leave in the mapped file, and
     * a mixture's experts are most of its bytes (a BF16 Qwen3-30B-A3B is 61 GB), which would then all have to fit in
     * memory at once. Experts in the other types (FP8, the GGUF types) are repacked into memory of their own anyway, so
     * they stack as dense layers do: one product for gate and up instead of two, for each expert a token picks (eight a
     * token on Qwen3-30B-A3B, in each of its 48 layers). Stacking such types does not use the pool, so it may run inside
     * {@link #experts}' job.
     */
    private boolean buildingExperts;

    /** Whether the stored tensor {@code name} is one whose matrix computes on the checkpoint's bytes (no repacking). */
    private boolean keptInPlace(String name) {
        return switch (weights.checkpoint().info(name).dtype()) { // info: a quantizing checkpoint answers without quantizing
            case BF16, F16, F32 -> true;
            default -> false;
        };
    }

    /** Llama-style MLP at {@code prefix} ("model.layers.N.mlp."). */
    public GatedMlp mlp(String prefix, int inter) {
        return mlp(prefix + "gate_proj", prefix + "up_proj", prefix + "down_proj", inter);
    }

    public Decoder.Layer layer(int l, Block attention, Block feedForward) {
        String p = "model.layers." + l + ".";
        return new Decoder.Layer(norm(p + "input_layernorm.weight", hidden), attention, norm(p + "post_attention_layernorm.weight", hidden),
                feedForward);
    }

    /** Embedding, LM head (tied when there is no lm_head.weight and the config says so), final norm, and the layers. */
    public Decoder decoder(Decoder.Layer[] layers, CausalLM.KvLayout kv) {
        return decoder(layers, kv, norm("model.norm.weight", hidden));
    }

    /** As above, with the final norm's weights given. */
    public Decoder decoder(Decoder.Layer[] layers, CausalLM.KvLayout kv, float[] finalNorm) {
        int vocab = config.vocabSize();
        WeightMatrix embed = matrix("model.embed_tokens.weight", vocab, hidden);
        WeightMatrix head;
        if (weights.has("lm_head.weight")) {
            head = matrix("lm_head.weight", vocab, hidden);
        } else if (config.tieWordEmbeddings()) {
            head = embed;
        } else {
            throw new ModelLoadException("tensor 'lm_head.weight' is missing from " + checkpoint.describe()
                    + " and config.json does not tie word embeddings (tie_word_embeddings is false)");
        }
        return new Decoder(config, checkpoint, pool, embed, head, finalNorm, layers, kv, workspace);
    }

    /** Standard per-head KV cache geometry. */
    public CausalLM.KvLayout gqaKv() {
        int w = config.numKvHeads() * config.headDim();
        return new CausalLM.KvLayout(config.numLayers(), w, w, config.numKvHeads());
    }
}
