package org.redhare.model.arch;

import java.util.List;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.layers.Block;
import org.redhare.model.layers.Decoder;
import org.redhare.model.layers.GatedMlp;
import org.redhare.model.layers.PostNormed;

/**
 * Zhipu's dense GLM: GLM-4-0414 and GLM-Z1 ({@code Glm4ForCausalLM}) and GLM-4-9B-chat-hf ({@code GlmForCausalLM}).
 * Llama-like, with q/k/v biases ({@code attention_bias}), RoPE on the first {@code partial_rotary_factor} of each head's
 * dims in adjacent pairs, and one fused {@code gate_up_proj}; GLM-4 also normalizes each block's output before the
 * residual add ({@code post_self_attn_layernorm}, {@code post_mlp_layernorm}).
 */
public final class GlmFamily implements Architecture {
    @Override
    public List<String> names() {
        return List.of("GlmForCausalLM", "Glm4ForCausalLM");
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        boolean postNorms = c.architecture().equals("Glm4ForCausalLM");
        Wiring w = new Wiring(c, checkpoint, pool);
        Rope rope = w.rope(c.headDim(), Rope.Layout.INTERLEAVED);
        Decoder.Layer[] layers = new Decoder.Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            int inter = c.intermediateSize();
            Block attention = w.gqa(p + "self_attn.", c.attentionBias(), false, rope);
            // a GGUF file's glm4 names the fused matrix ffn_up, which reads as up_proj
            String gateUp = w.weights.has(p + "mlp.gate_up_proj.weight") ? p + "mlp.gate_up_proj.weight" : p + "mlp.up_proj.weight";
            Block mlp = GatedMlp.fused(w.matrix(gateUp, 2 * inter, w.hidden),
                    w.matrix(p + "mlp.down_proj.weight", w.hidden, inter), w.workspace);
            if (postNorms) {
                attention = new PostNormed(attention, w.norm(p + "post_self_attn_layernorm.weight", w.hidden), w.eps);
                mlp = new PostNormed(mlp, w.norm(p + "post_mlp_layernorm.weight", w.hidden), w.eps);
            }
            layers[l] = w.layer(l, attention, mlp);
        }
        return w.decoder(layers, w.gqaKv());
    }
}
