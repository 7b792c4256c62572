package org.redhare.model.arch;

import java.util.List;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.RopeConfig;
import org.redhare.model.layers.Block;
import org.redhare.model.layers.Decoder;
import org.redhare.model.layers.GatedMlp;
import org.redhare.model.layers.MixtureOfExperts;
import org.redhare.model.layers.MultiHeadLatentAttention;
import org.redhare.model.layers.Router;

/**
 * DeepSeek-V3/R1 (and V2-style configs): multi-head latent attention with decoupled RoPE on the
 * {@code qk_rope_head_dim} part, dense MLP for the first {@code first_k_dense_replace} layers, then
 * group-limited routed experts plus shared experts. Multi-token-prediction layers are skipped.
 */
public final class DeepseekFamily implements Architecture {
    private static final System.Logger LOG = System.getLogger(DeepseekFamily.class.getName());

    /**
     * System property choosing the attention form: absorbed (default), expanded, or auto (expanded for
     * any batch of more than one token). The two forms are equal in exact arithmetic but not bit for bit,
     * and auto picks by batch size, so under auto a request's tokens could change with what it is batched
     * with; absorbed is the default because the server must give the same tokens alone and batched.
     */
    public static final String MLA_MODE_PROPERTY = "redhare.mla";

    @Override
    public List<String> names() {
        return List.of("DeepseekV3ForCausalLM", "DeepseekV2ForCausalLM");
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        var raw = c.raw();
        int heads = c.numHeads();
        int qLora = raw.path("q_lora_rank").isNumber() ? raw.get("q_lora_rank").asInt() : 0;
        int kvLora = req(raw, "kv_lora_rank");
        int nope = req(raw, "qk_nope_head_dim");
        int ropeDim = req(raw, "qk_rope_head_dim");
        int vDim = req(raw, "v_head_dim");
        int hidden = c.hiddenSize();
        Wiring w = new Wiring(c, checkpoint, pool);
        boolean interleave = raw.path("rope_interleave").asBoolean(true);
        Rope rope = RopeConfig.build(c.ropeTheta(), ropeDim, c.ropeScaling(), c.maxPositionEmbeddings(),
                interleave ? Rope.Layout.INTERLEAVED : Rope.Layout.HALF, c.architecture());
        double softmaxScale = 1.0 / Math.sqrt(nope + ropeDim);
        if (c.ropeScaling() != null) {
            var rs = c.ropeScaling();
            double factor = rs.path("factor").asDouble(1);
            double mscaleAll = rs.path("mscale_all_dim").asDouble(0);
            if (mscaleAll != 0) {
                double m = RopeConfig.yarnMscale(factor, mscaleAll);
                softmaxScale *= m * m;
            }
        }
        MultiHeadLatentAttention.Mode mode = MultiHeadLatentAttention.Mode.valueOf(
                System.getProperty(MLA_MODE_PROPERTY, "absorbed").toUpperCase(java.util.Locale.ROOT));
        int experts = raw.path("n_routed_experts").asInt(0);
        int firstDense = raw.path("first_k_dense_replace").asInt(0);
        int freq = raw.path("moe_layer_freq").asInt(1);
        String scoring = raw.path("scoring_func").asText("softmax");
        String topkMethod = raw.path("topk_method").asText("greedy");
        Router.GroupSelection groups = switch (topkMethod) {
            case "noaux_tc" -> Router.GroupSelection.TOP2_SUM;
            case "group_limited_greedy" -> Router.GroupSelection.MAX;
            case "greedy" -> Router.GroupSelection.NONE;
            default -> throw new ModelLoadException("topk_method '" + topkMethod + "' is not supported; use greedy, group_limited_greedy or noaux_tc");
        };
        Router.Scoring sc = switch (scoring) {
            case "sigmoid" -> Router.Scoring.SIGMOID;
            case "softmax" -> Router.Scoring.SOFTMAX;
            default -> throw new ModelLoadException("scoring_func '" + scoring + "' is not supported; use softmax or sigmoid");
        };
        skipMtp(c);
        Decoder.Layer[] layers = new Decoder.Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".self_attn.";
            MultiHeadLatentAttention attn = new MultiHeadLatentAttention(
                    qLora > 0 ? w.matrix(p + "q_a_proj.weight", qLora, hidden) : null,
                    qLora > 0 ? w.norm(p + "q_a_layernorm.weight", qLora) : null,
                    qLora > 0 ? w.matrix(p + "q_b_proj.weight", heads * (nope + ropeDim), qLora) : null,
                    qLora > 0 ? null : w.matrix(p + "q_proj.weight", heads * (nope + ropeDim), hidden),
                    w.matrix(p + "kv_a_proj_with_mqa.weight", kvLora + ropeDim, hidden),
                    w.norm(p + "kv_a_layernorm.weight", kvLora),
                    w.matrix(p + "kv_b_proj.weight", heads * (nope + vDim), kvLora),
                    w.matrix(p + "o_proj.weight", hidden, heads * vDim),
                    heads, nope, ropeDim, vDim, kvLora, w.eps, (float) softmaxScale, rope, mode, w.workspace);
            String m = "model.layers." + l + ".mlp.";
            Block ffn;
            if (experts == 0 || l < firstDense || l % freq != 0) {
                ffn = w.mlp(m, c.intermediateSize());
            } else {
                ffn = routedExperts(w, m, sc, groups);
            }
            layers[l] = w.layer(l, attn, ffn);
        }
        return w.decoder(layers, new CausalLM.KvLayout(c.numLayers(), kvLora + ropeDim, 0));
    }

    /** Multi-token-prediction layers ({@code model.layers.N.*} past the last) are in the checkpoint but not run. */
    static void skipMtp(ModelConfig c) {
        int mtp = c.raw().path("num_nextn_predict_layers").asInt(0);
        if (mtp > 0) {
            LOG.log(System.Logger.Level.INFO, "skipping " + mtp + " multi-token-prediction layer(s) (model.layers." + c.numLayers() + ".*): not used for generation");
        }
    }

    /**
     * DeepSeek-V3's routed experts at {@code m} ("model.layers.N.mlp."): {@code n_routed_experts} SwiGLU experts of
     * {@code moe_intermediate_size}, {@code num_experts_per_tok} chosen per token by the router {@code gate.weight} (with
     * {@code e_score_correction_bias} when present, groups, {@code norm_topk_prob}, {@code routed_scaling_factor}), plus
     * {@code n_shared_experts} shared ones as one MLP. GLM-4.5's MoE layers are the same.
     */
    static MixtureOfExperts routedExperts(Wiring w, String m, Router.Scoring scoring, Router.GroupSelection groups) {
        var raw = w.config.raw();
        int experts = raw.path("n_routed_experts").asInt(0);
        int topK = raw.path("num_experts_per_tok").asInt(0);
        int moeInter = raw.path("moe_intermediate_size").asInt(0);
        int shared = raw.path("n_shared_experts").asInt(0);
        GatedMlp[] ex = w.experts(experts, e -> w.mlp(m + "experts." + e + ".", moeInter));
        GatedMlp sharedMlp = shared > 0 ? w.mlp(m + "shared_experts.", moeInter * shared) : null;
        float[] bias = w.weights.has(m + "gate.e_score_correction_bias") ? w.norm(m + "gate.e_score_correction_bias", experts) : null;
        Router router = new Router(scoring, experts, topK, raw.path("norm_topk_prob").asBoolean(false) && topK > 1,
                (float) raw.path("routed_scaling_factor").asDouble(1.0), groups, raw.path("n_group").asInt(1),
                raw.path("topk_group").asInt(1), bias);
        return new MixtureOfExperts(w.matrix(m + "gate.weight", experts, w.hidden), router, ex, sharedMlp, null, w.workspace);
    }

    private static int req(com.fasterxml.jackson.databind.JsonNode raw, String key) {
        if (!raw.path(key).isNumber()) {
            throw new ModelLoadException("DeepSeek config is missing \"" + key + "\"");
        }
        return raw.get(key).asInt();
    }
}
