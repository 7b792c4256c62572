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
        int window = slidingWindow(c);
        int firstWindowed = c.architecture().startsWith("Qwen") ? c.raw().path("max_window_layers").asInt(c.numLayers()) : 0;
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            var attention = w.gqa(p + "self_attn.", bias, qkNorm, rope);
            boolean local = c.raw().path("layer_types").isArray() // transformers 5 writes each layer's type
                    ? c.raw().get("layer_types").path(l).asText().equals("sliding_attention") : l >= firstWindowed;
            if (window > 0 && local) {
                attention = attention.withScores((float) (1 / Math.sqrt(c.headDim())), window, 0f, w.workspace);
            }
            layers[l] = w.layer(l, attention, w.mlp(p + "mlp.", c.intermediateSize()));
        }
        return w.decoder(layers, w.gqaKv());
    }

    /**
     * The sliding window transformers applies, or 0: Mistral's {@code sliding_window} when set (Mistral 7B v0.1's 4096;
     * later Mistral configs leave it null), Qwen2/3's only with {@code use_sliding_window} (and then on the layers from
     * {@code max_window_layers} on). Llama has none.
     */
    static int slidingWindow(ModelConfig c) {
        var raw = c.raw();
        boolean on = switch (c.architecture()) {
            case "MistralForCausalLM" -> true;
            case "Qwen2ForCausalLM", "Qwen3ForCausalLM" -> raw.path("use_sliding_window").asBoolean(false);
            default -> false;
        };
        return on && raw.path("sliding_window").isNumber() ? Math.max(0, raw.get("sliding_window").asInt()) : 0;
    }
}
