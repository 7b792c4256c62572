package org.redhare.model.arch;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.RopeConfig;
import org.redhare.model.layers.Block;
import org.redhare.model.layers.Decoder;
import org.redhare.model.layers.PostNormed;

/**
 * Google's Gemma 3 text models ({@code Gemma3ForCausalLM}: Gemma 3 270M and 1B, and the language model of the larger,
 * multimodal ones) and Gemma 2 ({@code Gemma2ForCausalLM}). Llama-like, with:
 * <ul>
 *   <li>the embedding multiplied by {@code sqrt(hidden_size)} (the tied LM head is not), the factor rounded to the
 *       embedding's dtype as transformers does for BF16/F16 checkpoints;</li>
 *   <li>RMSNorms that multiply by {@code 1 + w} (folded into the weights at load; llama.cpp's GGUF converter has
 *       already added the one);</li>
 *   <li>four norms per layer: each block's input and output, {@code x += post(attn(input(x)))},
 *       {@code x += post_ff(mlp(pre_ff(x)))};</li>
 *   <li>per-head q/k RMSNorm before RoPE (Gemma 3), scores scaled by {@code query_pre_attn_scalar^-0.5} and soft-capped
 *       at {@code attn_logit_softcapping} where set (Gemma 2);</li>
 *   <li>local layers with sliding-window attention ({@code sliding_window} keys; Gemma 3's with their own RoPE base
 *       {@code rope_local_base_freq}, unscaled), and global layers (every {@code sliding_window_pattern}-th: 6 for Gemma 3,
 *       2 for Gemma 2; or as {@code layer_types} lists them) with full attention and {@code rope_theta} with
 *       {@code rope_scaling};</li>
 *   <li>GeGLU ({@code gelu_pytorch_tanh}) feed-forward;</li>
 *   <li>logits soft-capped at {@code final_logit_softcapping} where set (Gemma 2's 30).</li>
 * </ul>
 * Keys and values of local layers stay cached for the whole sequence (as for global ones): memory is not yet reclaimed
 * behind the window.
 */
public final class GemmaFamily implements Architecture {
    @Override
    public List<String> names() {
        return List.of("Gemma3ForCausalLM", "Gemma3ForConditionalGeneration", "Gemma2ForCausalLM");
    }

    /**
     * Gemma 3 4B, 12B and 27B ship as {@code Gemma3ForConditionalGeneration} (text and images): their language model's
     * tensors are {@code language_model.model.*} (as Google published them) or {@code model.language_model.*} (as newer
     * transformers saves them); RedHare runs the text part and leaves the vision tower unread.
     */
    @Override
    public Checkpoint textView(ModelConfig c, Checkpoint checkpoint) {
        if (!c.architecture().equals("Gemma3ForConditionalGeneration")) {
            return checkpoint;
        }
        return new org.redhare.model.RenamedCheckpoint(checkpoint, List.of(Map.entry("language_model.model.", "model."),
                Map.entry("model.language_model.", "model."), Map.entry("language_model.lm_head.", "lm_head."), Map.entry("lm_head.", "lm_head.")));
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        Wiring w = new Wiring(c, checkpoint, pool);
        JsonNode raw = c.raw();
        String act = raw.path("hidden_activation").asText(raw.path("hidden_act").asText("gelu_pytorch_tanh"));
        if (!act.equals("gelu_pytorch_tanh") && !act.equals("gelu_tanh") && !act.equals("gelu")) {
            throw new ModelLoadException(c.architecture() + ": hidden_activation '" + act + "' is not supported (Gemma uses gelu_pytorch_tanh)");
        }
        boolean gemma2 = c.architecture().equals("Gemma2ForCausalLM");
        float logitCap = (float) raw.path("final_logit_softcapping").asDouble(0);
        int layers = c.numLayers();
        boolean[] local = localLayers(c);
        int window = raw.path("sliding_window").asInt(4096);
        if (window < 1) {
            throw new ModelLoadException(c.architecture() + ": sliding_window must be positive, got " + window);
        }
        float scale = (float) (1 / Math.sqrt(raw.path("query_pre_attn_scalar").asDouble(256)));
        float softcap = (float) raw.path("attn_logit_softcapping").asDouble(0);
        // the checkpoint's names: Hugging Face's, or a GGUF file's mapped ones (see GgufCheckpoint.LAYER_NAMES), whose norms
        // llama.cpp's converter stored as 1 + w already
        boolean gguf = w.weights.has("model.layers.0.post_self_attn_layernorm.weight");
        float offset = gguf ? 0f : 1f;
        Rope global = RopeConfig.build(c, c.headDim(), Rope.Layout.HALF);
        JsonNode localParams = raw.path("rope_parameters").path("sliding_attention"); // transformers 5's form
        double localTheta = localParams.path("rope_theta").asDouble(raw.path("rope_local_base_freq").asDouble(10000));
        Rope localRope = gemma2 ? global // Gemma 2's local layers rotate as its global ones
                : RopeConfig.build(localTheta, c.headDim(), null, c.maxPositionEmbeddings(), Rope.Layout.HALF, c.architecture());
        int h = w.hidden;
        Decoder.Layer[] out = new Decoder.Layer[layers];
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            Block attention = w.gqa(p + "self_attn.", false, !gemma2, offset, local[l] ? localRope : global)
                    .withScores(scale, local[l] ? window : 0, softcap, w.workspace);
            Block mlp = w.mlp(p + "mlp.", c.intermediateSize()).withGelu(w.workspace);
            String attnPost = gguf ? "post_self_attn_layernorm" : "post_attention_layernorm";
            String mlpPre = gguf ? "post_attention_layernorm" : "pre_feedforward_layernorm";
            String mlpPost = gguf ? "post_mlp_layernorm" : "post_feedforward_layernorm";
            out[l] = new Decoder.Layer(norm(w, p + "input_layernorm.weight", h, offset),
                    new PostNormed(attention, norm(w, p + attnPost + ".weight", h, offset), w.eps),
                    norm(w, p + mlpPre + ".weight", h, offset),
                    new PostNormed(mlp, norm(w, p + mlpPost + ".weight", h, offset), w.eps));
        }
        Decoder d = w.decoder(out, w.gqaKv(), norm(w, "model.norm.weight", h, offset));
        d.scaleEmbeddings(embeddingScale(h, checkpoint.tensor("model.embed_tokens.weight").dtype(), gguf));
        return logitCap > 0 ? d.softcapLogits(logitCap) : d;
    }

    /** Which layers are local (sliding-window): {@code layer_types}, else every layer but each {@code sliding_window_pattern}-th. */
    static boolean[] localLayers(ModelConfig c) {
        boolean[] local = new boolean[c.numLayers()];
        JsonNode types = c.raw().path("layer_types");
        if (types.isArray()) {
            if (types.size() != local.length) {
                throw new ModelLoadException(c.architecture() + ": layer_types lists " + types.size() + " layers, the model has " + local.length);
            }
            for (int l = 0; l < local.length; l++) {
                String t = types.get(l).asText();
                if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
                    throw new ModelLoadException(c.architecture() + ": layer_types[" + l + "] is '" + t
                            + "'; expected sliding_attention or full_attention");
                }
                local[l] = t.equals("sliding_attention");
            }
            return local;
        }
        int pattern = c.raw().path("sliding_window_pattern").asInt(c.architecture().equals("Gemma2ForCausalLM") ? 2 : 6);
        for (int l = 0; l < local.length; l++) {
            local[l] = pattern <= 0 || (l + 1) % pattern != 0;
        }
        return local;
    }

    /**
     * {@code sqrt(hidden)} as transformers multiplies it: a tensor of the embedding's dtype (so rounded to BF16 or F16 for
     * such checkpoints; sqrt(1152) = 33.94 becomes 34.0 in BF16). GGUF files get the float, as llama.cpp computes it.
     */
    static float embeddingScale(int hidden, DType embedding, boolean gguf) {
        float s = (float) Math.sqrt(hidden);
        if (gguf) {
            return s;
        }
        return switch (embedding) {
            case BF16 -> Numbers.bf16ToFloat(Numbers.floatToBf16(s));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(s));
            default -> s;
        };
    }

    private static float[] norm(Wiring w, String name, int dim, float offset) {
        float[] v = w.norm(name, dim);
        for (int i = 0; i < dim; i++) {
            v[i] += offset;
        }
        return v;
    }
}
