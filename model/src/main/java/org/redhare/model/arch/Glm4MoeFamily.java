package org.redhare.model.arch;

import java.util.List;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.layers.Block;
import org.redhare.model.layers.Decoder;
import org.redhare.model.layers.Router;

/**
 * Zhipu's GLM-4.5, GLM-4.5-Air and GLM-4.6 ({@code Glm4MoeForCausalLM}): grouped-query attention with q/k/v biases,
 * optional per-head q/k RMSNorm ({@code use_qk_norm}) and rotate-half RoPE on the first {@code partial_rotary_factor} of
 * each head's dims; dense SwiGLU for the first {@code first_k_dense_replace} layers, then DeepSeek-V3's routed experts
 * (sigmoid scores, the correction bias for choosing, groups, normalized and scaled weights) with shared experts. The
 * multi-token-prediction layer the checkpoints carry is not run.
 */
public final class Glm4MoeFamily implements Architecture {
    @Override
    public List<String> names() {
        return List.of("Glm4MoeForCausalLM");
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        var raw = c.raw();
        Wiring w = new Wiring(c, checkpoint, pool);
        Rope rope = w.rope(c.headDim(), Rope.Layout.HALF);
        boolean qkNorm = raw.path("use_qk_norm").asBoolean(false);
        int firstDense = raw.path("first_k_dense_replace").asInt(0);
        DeepseekFamily.skipMtp(c);
        Decoder.Layer[] layers = new Decoder.Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            Block attention = w.gqa(p + "self_attn.", c.attentionBias(), qkNorm, rope);
            Block ffn = l < firstDense ? w.mlp(p + "mlp.", c.intermediateSize())
                    : DeepseekFamily.routedExperts(w, p + "mlp.", Router.Scoring.SIGMOID, Router.GroupSelection.TOP2_SUM);
            layers[l] = w.layer(l, attention, ffn);
        }
        return w.decoder(layers, w.gqaKv());
    }
}
