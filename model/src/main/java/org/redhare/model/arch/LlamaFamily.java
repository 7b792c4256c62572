package org.redhare.model.arch;

import java.util.List;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.layers.Decoder;

/**
 * The dense Llama family: Llama 2/3 and Mistral (biases only with {@code attention_bias}), Qwen2
 * (q/k/v biases), Qwen3 (per-head q/k RMSNorm). Rotate-half RoPE.
 */
public final class LlamaFamily implements Architecture {
    @Override
    public List<String> names() {
        return List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM");
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        boolean bias = c.architecture().equals("Qwen2ForCausalLM") || c.attentionBias();
        boolean qkNorm = c.architecture().equals("Qwen3ForCausalLM");
        Wiring w = new Wiring(c, checkpoint, pool);
        Rope rope = w.rope(c.headDim(), c.ropeInterleaved() ? Rope.Layout.INTERLEAVED : Rope.Layout.HALF);
        Decoder.Layer[] layers = new Decoder.Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            layers[l] = w.layer(l, w.gqa(p + "self_attn.", bias, qkNorm, rope), w.mlp(p + "mlp.", c.intermediateSize()));
        }
        return w.decoder(layers, w.gqaKv());
    }
}
