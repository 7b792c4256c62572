package org.redhare.model.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.redhare.core.DType;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.RopeConfig;
import org.redhare.model.TensorRef;

/**
 * A GGUF file seen through Hugging Face names, so the same architecture classes run it: {@code blk.N.attn_q}
 * becomes {@code model.layers.N.self_attn.q_proj}, dimensions are reversed (GGUF lists the innermost
 * first), and the {@code general.architecture} metadata becomes a {@link ModelConfig}. Llama-architecture
 * GGUF weights keep Meta's layout, whose RoPE rotates adjacent pairs; Qwen's keep the rotate-half layout.
 */
public final class GgufCheckpoint implements Checkpoint {
    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    /** A mixture's experts stacked in one 3-D tensor {@code [experts, rows, cols]}, as llama.cpp's converter writes them. */
    private static final Pattern STACKED_EXPERTS = Pattern.compile("blk\\.(\\d+)\\.ffn_(gate|up|down)_exps\\.weight");
    /** One expert's matrix of its own, as Mixtral files written before the stacked layout have them. */
    private static final Pattern EXPERT = Pattern.compile("blk\\.(\\d+)\\.ffn_(gate|up|down)\\.(\\d+)\\.weight");
    /** Per-pair RoPE frequency divisors (llama.cpp's {@code freq_factors}); see {@link #config()}. */
    static final String ROPE_FREQS = "rope_freqs.weight";
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("attn_norm", "input_layernorm"),
            Map.entry("ffn_norm", "post_attention_layernorm"),
            Map.entry("attn_q", "self_attn.q_proj"),
            Map.entry("attn_k", "self_attn.k_proj"),
            Map.entry("attn_v", "self_attn.v_proj"),
            Map.entry("attn_output", "self_attn.o_proj"),
            Map.entry("attn_q_norm", "self_attn.q_norm"),
            Map.entry("attn_k_norm", "self_attn.k_norm"),
            Map.entry("ffn_gate", "mlp.gate_proj"),
            Map.entry("ffn_up", "mlp.up_proj"),
            Map.entry("ffn_down", "mlp.down_proj"),
            Map.entry("post_attention_norm", "post_self_attn_layernorm"), // GLM-4's norms of each block's output
            Map.entry("post_ffw_norm", "post_mlp_layernorm"),
            // DeepSeek's multi-head latent attention (deepseek2); its kv_b_proj is attn_kv_b in older files and
            // attn_k_b (transposed) with attn_v_b in newer ones, see kvB()
            Map.entry("attn_q_a", "self_attn.q_a_proj"),
            Map.entry("attn_q_a_norm", "self_attn.q_a_layernorm"),
            Map.entry("attn_q_b", "self_attn.q_b_proj"),
            Map.entry("attn_kv_a_mqa", "self_attn.kv_a_proj_with_mqa"),
            Map.entry("attn_kv_a_norm", "self_attn.kv_a_layernorm"),
            Map.entry("attn_kv_b", "self_attn.kv_b_proj"),
            Map.entry("attn_k_b", "self_attn.k_b_proj"),
            Map.entry("attn_v_b", "self_attn.v_b_proj"),
            // DeepSeek's shared experts, one MLP n_shared_experts times an expert's width
            Map.entry("ffn_gate_shexp", "mlp.shared_experts.gate_proj"),
            Map.entry("ffn_up_shexp", "mlp.shared_experts.up_proj"),
            Map.entry("ffn_down_shexp", "mlp.shared_experts.down_proj"));
    /** DeepSeek-V3's router bias ({@code e_score_correction_bias}) as llama.cpp names it. */
    static final String ROUTER_BIAS = "exp_probs_b.bias";
    private static final Map<String, String> ARCHITECTURES = Map.ofEntries(
            Map.entry("llama", "LlamaForCausalLM"), Map.entry("qwen2", "Qwen2ForCausalLM"), Map.entry("qwen3", "Qwen3ForCausalLM"),
            Map.entry("glm4", "Glm4ForCausalLM"), Map.entry("gemma3", "Gemma3ForCausalLM"), Map.entry("gemma2", "Gemma2ForCausalLM"),
            Map.entry("qwen3moe", "Qwen3MoeForCausalLM"), Map.entry("deepseek2", "DeepseekV3ForCausalLM"),
            Map.entry("glm4moe", "Glm4MoeForCausalLM"), Map.entry("qwen2moe", "Qwen2MoeForCausalLM"));
    /** The Hugging Face model_type of each GGUF architecture where the two names differ. */
    private static final Map<String, String> MODEL_TYPES = Map.of("qwen3moe", "qwen3_moe", "glm4moe", "glm4_moe", "qwen2moe", "qwen2_moe");
    /** Qwen2-MoE's sigmoid gate on its shared expert's output ({@code mlp.shared_expert_gate}, one row). */
    static final String SHARED_EXPERT_GATE = "ffn_gate_inp_shexp.weight";
    /** GLM-4.5's norm before the feed-forward, which llama.cpp's glm4moe names post_attention_norm (in glm4 a block-output norm). */
    static final String GLM_MOE_FFN_NORM = "post_attention_norm";

    private final GgufFile file;
    private final Map<String, TensorRef> tensors;
    /** DeepSeek's kv_b_proj of each layer where the file splits it (attn_k_b, attn_v_b): made when asked for, see {@link #kvB}. */
    private final Map<String, TensorRef.Info> derived = new LinkedHashMap<>();
    private final Map<String, TensorRef[]> splitKvB = new LinkedHashMap<>(); // its attn_k_b and attn_v_b

    private GgufCheckpoint(GgufFile file, Map<String, TensorRef> tensors) {
        this.file = file;
        this.tensors = tensors;
        for (String name : List.copyOf(tensors.keySet())) {
            if (name.endsWith(".self_attn.k_b_proj.weight")) {
                String p = name.substring(0, name.length() - "k_b_proj.weight".length());
                TensorRef kb = tensors.remove(name);
                TensorRef vb = tensors.remove(p + "v_b_proj.weight");
                if (tensors.containsKey(p + "kv_b_proj.weight")) {
                    continue; // files with both forms (ik_llama.cpp's converter writes attn_kv_b beside the split): the whole one
                }
                if (kb.shape().length != 3 || vb == null || vb.shape().length != 3 || vb.shape()[0] != kb.shape()[0]
                        || vb.shape()[2] != kb.shape()[1]) {
                    String layer = name.substring("model.layers.".length(), name.indexOf(".self_attn."));
                    throw new ModelLoadException(file.path() + ": blk." + layer + ".attn_k_b.weight " + kb.shapeString() + " and blk." + layer
                            + ".attn_v_b.weight " + (vb == null ? "(missing)" : vb.shapeString()) + " should be [heads, kv_lora_rank,"
                            + " qk_nope_head_dim] and [heads, v_head_dim, kv_lora_rank] (outermost first), the two halves of DeepSeek's"
                            + " kv_b_proj as llama.cpp's converter splits it; the file is damaged or was written by another converter");
                }
                long heads = kb.shape()[0], kvLora = kb.shape()[1], nope = kb.shape()[2], v = vb.shape()[1];
                derived.put(p + "kv_b_proj.weight", new TensorRef.Info(DType.F32, new long[] {heads * (nope + v), kvLora},
                        4 * heads * (nope + v) * kvLora));
                splitKvB.put(p + "kv_b_proj.weight", new TensorRef[] {kb, vb});
            }
        }
    }

    public static GgufCheckpoint open(Path path) {
        GgufFile f;
        try {
            f = GgufFile.open(path);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + path + ": " + e.getMessage(), e);
        }
        try {
            Map<String, TensorRef> out = new LinkedHashMap<>();
            boolean mixtral = "llama".equals(f.getString("general.architecture", null)); // a llama file with experts is Mixtral
            boolean glmMoe = "glm4moe".equals(f.getString("general.architecture", null));
            boolean qwen2Moe = "qwen2moe".equals(f.getString("general.architecture", null));
            for (GgufTensorInfo t : f.tensors()) {
                if (splitExperts(f, t, mixtral, path, out)) {
                    continue;
                }
                Matcher gm = BLOCK.matcher(t.name());
                String hf = glmMoe && gm.matches() && gm.group(2).equals(GLM_MOE_FFN_NORM + ".weight")
                        ? "model.layers." + gm.group(1) + ".post_attention_layernorm.weight"
                        : gm.matches() && gm.group(2).equals(SHARED_EXPERT_GATE) ? "model.layers." + gm.group(1) + ".mlp.shared_expert_gate.weight"
                        : hfName(t.name(), mixtral);
                if (hf == null) {
                    continue; // tensors no architecture reads as a weight (rope_freqs goes into the config, see config())
                }
                if (qwen2Moe) {
                    hf = hf.replace(".mlp.shared_experts.", ".mlp.shared_expert."); // Qwen2-MoE's one shared expert
                }
                long[] dims = t.dims();
                long[] shape = new long[dims.length];
                for (int i = 0; i < dims.length; i++) {
                    shape[i] = dims[dims.length - 1 - i];
                }
                if (hf.endsWith(".shared_expert_gate.weight") && shape.length == 1) {
                    shape = new long[] {1, shape[0]}; // llama.cpp's own files may keep the gate's one row as a vector
                }
                out.put(hf, new TensorRef(hf, dtype(t, path), shape, f.tensorData(t), path));
            }
            return new GgufCheckpoint(f, out);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    public GgufFile file() {
        return file;
    }

    /**
     * A stacked expert tensor {@code blk.N.ffn_{gate,up,down}_exps} ({@code [experts, rows, cols]}) put into {@code out} as
     * one matrix per expert under its Hugging Face name (slices of the file, no copy): false for any other tensor.
     */
    private static boolean splitExperts(GgufFile f, GgufTensorInfo t, boolean mixtral, Path path, Map<String, TensorRef> out) {
        Matcher m = STACKED_EXPERTS.matcher(t.name());
        if (!m.matches()) {
            return false;
        }
        if (t.rank() != 3) {
            throw new ModelLoadException(path + ": tensor '" + t.name() + "' should hold the experts stacked as [experts, rows, cols] but has"
                    + " dimensions " + java.util.Arrays.toString(t.dims()) + " (GGUF order)");
        }
        long cols = t.dim(0);
        long rows = t.dim(1);
        long experts = t.dim(2);
        DType dtype = dtype(t, path);
        if (cols % t.type().blockSize() != 0) {
            throw new ModelLoadException(path + ": tensor '" + t.name() + "' has rows of " + cols + " values, not whole " + t.type() + " blocks of "
                    + t.type().blockSize());
        }
        long bytes = rows * t.type().byteSize(cols);
        MemorySegment data = f.tensorData(t);
        for (int e = 0; e < experts; e++) {
            String hf = expertName(Integer.parseInt(m.group(1)), e, m.group(2), mixtral);
            out.put(hf, new TensorRef(hf, dtype, new long[] {rows, cols}, data.asSlice(e * bytes, bytes), path));
        }
        return true;
    }

    /** The Hugging Face name of expert {@code e}'s {@code kind} (gate, up, down) matrix in layer {@code layer}: Mixtral's w1/w3/w2 or Qwen's. */
    static String expertName(int layer, int e, String kind, boolean mixtral) {
        String p = "model.layers." + layer + ".";
        if (mixtral) {
            return p + "block_sparse_moe.experts." + e + "." + switch (kind) {
                case "gate" -> "w1";
                case "up" -> "w3";
                default -> "w2";
            } + ".weight";
        }
        return p + "mlp.experts." + e + "." + kind + "_proj.weight";
    }

    static String hfName(String gguf) {
        return hfName(gguf, false);
    }

    /** The Hugging Face name of a GGUF tensor (Mixtral's names for a mixture in a {@code llama} file), or null when none reads it. */
    static String hfName(String gguf, boolean mixtral) {
        Matcher em = EXPERT.matcher(gguf);
        if (em.matches()) {
            return expertName(Integer.parseInt(em.group(1)), Integer.parseInt(em.group(3)), em.group(2), mixtral);
        }
        Matcher rm = BLOCK.matcher(gguf);
        if (rm.matches() && rm.group(2).equals("ffn_gate_inp.weight")) { // the router
            return "model.layers." + rm.group(1) + (mixtral ? ".block_sparse_moe.gate.weight" : ".mlp.gate.weight");
        }
        if (rm.matches() && rm.group(2).equals(ROUTER_BIAS)) {
            return "model.layers." + rm.group(1) + ".mlp.gate.e_score_correction_bias";
        }
        switch (gguf) {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
            default: break;
        }
        Matcher m = BLOCK.matcher(gguf);
        if (!m.matches()) {
            return null;
        }
        String rest = m.group(2);
        int dot = rest.lastIndexOf('.');
        String base = LAYER_NAMES.get(rest.substring(0, dot));
        return base == null ? null : "model.layers." + m.group(1) + "." + base + rest.substring(dot);
    }

    private static DType dtype(GgufTensorInfo t, Path path) {
        return switch (t.type()) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            case Q8_0 -> DType.Q8_0;
            case Q4_0 -> DType.Q4_0;
            case Q4_1 -> DType.Q4_1;
            case Q5_0 -> DType.Q5_0;
            case Q5_1 -> DType.Q5_1;
            case Q5_K -> DType.Q5_K;
            case Q4_K -> DType.Q4_K;
            case Q6_K -> DType.Q6_K;
            case Q2_K -> DType.Q2_K;
            case Q3_K -> DType.Q3_K;
            case IQ4_NL -> DType.IQ4_NL;
            case IQ4_XS -> DType.IQ4_XS;
            default -> throw new ModelLoadException(path + ": tensor '" + t.name() + "' has GGUF type " + t.type()
                    + ", which this build does not run (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS). Convert the model with"
                    + " llama.cpp's llama-quantize to Q8_0, Q4_0, Q4_K_M or Q5_K_M, or use the original safetensors with --quantize");
        };
    }

    /** The model configuration the GGUF metadata describes, in config.json terms. */
    public ModelConfig config() {
        Map<String, Object> md = file.metadata();
        String arch = file.getString("general.architecture", null);
        if (arch == null || !ARCHITECTURES.containsKey(arch)) {
            throw new ModelLoadException(file.path() + ": GGUF architecture '" + arch + "' is not supported; RedHare runs GGUF "
                    + String.join(", ", new java.util.TreeSet<>(ARCHITECTURES.keySet())) + " models (llama with experts: Mixtral);"
                    + " for others, run the original safetensors checkpoint");
        }
        ObjectNode c = new ObjectMapper().createObjectNode();
        long experts = file.getLong(arch + ".expert_count", 0);
        boolean mixtral = arch.equals("llama") && experts > 0;
        boolean deepseek = arch.equals("deepseek2");
        boolean glmMoe = arch.equals("glm4moe");
        c.putArray("architectures").add(mixtral ? "MixtralForCausalLM" : ARCHITECTURES.get(arch));
        c.put("model_type", mixtral ? "mixtral" : MODEL_TYPES.getOrDefault(arch, arch));
        int hidden = (int) need(arch + ".embedding_length");
        int heads = (int) need(arch + ".attention.head_count");
        c.put("hidden_size", hidden);
        if (experts > 0 && !deepseek && !glmMoe) {
            mixture(arch, mixtral, experts, c);
        } else {
            c.put("intermediate_size", need(arch + ".feed_forward_length"));
        }
        c.put("num_hidden_layers", need(arch + ".block_count"));
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", file.getLong(arch + ".attention.head_count_kv", heads));
        c.put("head_dim", file.getLong(arch + ".attention.key_length", hidden / heads));
        Object tokens = md.get("tokenizer.ggml.tokens");
        long vocab = file.getLong(arch + ".vocab_size", tokens instanceof List<?> l ? l.size() : -1);
        TensorRef embed = tensors.get("model.embed_tokens.weight");
        if (embed != null) {
            vocab = embed.shape()[0];
        }
        c.put("vocab_size", vocab);
        c.put("max_position_embeddings", file.getLong(arch + ".context_length", 2048));
        c.put("rms_norm_eps", file.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-6f));
        c.put("rope_theta", file.getFloat(arch + ".rope.freq_base", 10000f));
        long ropeDim = file.getLong(arch + ".rope.dimension_count", -1);
        long headDim = c.get("head_dim").asLong();
        if (ropeDim > 0 && ropeDim != headDim) {
            c.put("partial_rotary_factor", (double) ropeDim / headDim);
        }
        String scaling = file.getString(arch + ".rope.scaling.type", "none");
        GgufTensorInfo freqs = file.tensor(ROPE_FREQS);
        if (freqs != null) {
            // llama.cpp's converter bakes Llama 3.1+'s "llama3" scaling into this tensor (one divisor per rotated
            // pair) instead of metadata; ignoring it would run such files with plain RoPE, i.e. wrongly.
            long pairs = (ropeDim > 0 ? ropeDim : headDim) / 2;
            if (freqs.type() != GgmlType.F32 || freqs.elementCount() != pairs) {
                throw new ModelLoadException(file.path() + ": tensor '" + ROPE_FREQS + "' should be F32 with " + pairs
                        + " values (one per rotated pair), got " + freqs.type() + " " + java.util.Arrays.toString(freqs.dims()));
            }
            if (!scaling.equals("none")) {
                throw new ModelLoadException(file.path() + ": has both '" + ROPE_FREQS + "' and rope scaling type '" + scaling
                        + "'; RedHare applies one or the other, not both");
            }
            MemorySegment data = file.tensorData(freqs);
            ObjectNode r = c.putObject("rope_scaling");
            r.put("rope_type", RopeConfig.FREQUENCY_DIVISORS);
            var divisors = r.putArray("divisors");
            for (long i = 0; i < pairs; i++) {
                divisors.add(data.getAtIndex(F32_LE, i));
            }
        }
        if (!scaling.equals("none")) {
            ObjectNode r = c.putObject("rope_scaling");
            r.put("rope_type", scaling);
            r.put("factor", file.getFloat(arch + ".rope.scaling.factor", 1f));
            long orig = file.getLong(arch + ".rope.scaling.original_context_length", -1);
            if (orig > 0) {
                r.put("original_max_position_embeddings", orig);
            }
        }
        if (arch.startsWith("gemma")) {
            gemma(arch, c, hidden, heads);
        }
        if (deepseek) {
            deepseek(arch, c, heads, experts);
        }
        if (glmMoe) {
            // the multi-token-prediction layers llama.cpp's converter keeps are counted in block_count; RedHare does not run them
            long nextn = file.getLong(arch + ".nextn_predict_layers", 0);
            c.put("num_hidden_layers", need(arch + ".block_count") - nextn);
            c.put("num_nextn_predict_layers", nextn);
            c.put("use_qk_norm", tensors.containsKey("model.layers.0.self_attn.q_norm.weight"));
            c.put("first_k_dense_replace", file.getLong(arch + ".leading_dense_block_count", 0));
            long gating = file.getLong(arch + ".expert_gating_func", 2);
            if (gating != 2) {
                throw new ModelLoadException(file.path() + ": expert_gating_func " + gating + " is not supported for glm4moe (GLM-4.5 routes by"
                        + " sigmoid, 2)");
            }
            routedExperts(arch, c, experts);
        }
        c.put("tie_word_embeddings", !tensors.containsKey("lm_head.weight"));
        c.put("attention_bias", tensors.containsKey("model.layers.0.self_attn.q_proj.bias"));
        long bos = file.getLong("tokenizer.ggml.bos_token_id", -1);
        long eos = file.getLong("tokenizer.ggml.eos_token_id", -1);
        if (bos >= 0) {
            c.put("bos_token_id", bos);
        }
        if (eos >= 0) {
            c.put("eos_token_id", eos);
        }
        return ModelConfig.parse(c, file.path().toString()).withRopeInterleaved(arch.equals("llama"));
    }

    /**
     * A mixture of experts as llama.cpp describes it: {@code expert_count}, {@code expert_used_count}, each expert's
     * {@code expert_feed_forward_length} (Mixtral's is {@code feed_forward_length}). Qwen3-MoE's router weights are
     * renormalized over the chosen experts, as llama.cpp runs qwen3moe (its checkpoints set norm_topk_prob), unless the
     * file says otherwise ({@code expert_weights_norm}); Mixtral's always are.
     */
    private void mixture(String arch, boolean mixtral, long experts, ObjectNode c) {
        c.put(mixtral ? "num_local_experts" : "num_experts", experts);
        c.put("num_experts_per_tok", need(arch + ".expert_used_count"));
        if (mixtral) {
            c.put("intermediate_size", need(arch + ".feed_forward_length"));
            return;
        }
        long perExpert = need(arch + ".expert_feed_forward_length");
        c.put("moe_intermediate_size", perExpert);
        c.put("intermediate_size", file.getLong(arch + ".feed_forward_length", perExpert)); // dense layers only (none in these files)
        boolean qwen2 = arch.equals("qwen2moe");
        // llama.cpp renormalizes qwen3moe's router weights and never qwen2moe's, as their checkpoints do
        c.put("norm_topk_prob", file.getBoolean(arch + ".expert_weights_norm", !qwen2));
        if (qwen2) {
            c.put("shared_expert_intermediate_size", file.getLong(arch + ".expert_shared_feed_forward_length",
                    file.getLong(arch + ".feed_forward_length", perExpert)));
        }
    }

    /**
     * DeepSeek-V2/V3 (and the models built like them: Kimi K2, Moonlight) as llama.cpp's deepseek2 describes them, in
     * their config.json terms. Multi-head latent attention: {@code kv_lora_rank}, {@code q_lora_rank} (absent: a plain q
     * projection, as in V2-Lite), {@code rope.dimension_count} the rotated part of each query and key; each head's key and
     * value sizes are {@code key_length_mla}/{@code value_length_mla} in files written since llama.cpp runs MLA absorbed
     * (there {@code key_length}/{@code value_length} and {@code head_count_kv} 1 describe its latent cache), else
     * {@code key_length}/{@code value_length}. Mixture: the first {@code leading_dense_block_count} layers dense,
     * {@code expert_gating_func} 2 (sigmoid, with the {@code exp_probs_b} bias: V3's {@code noaux_tc}) or 1/absent
     * (softmax: V2's, group-limited where {@code expert_group_count} is over 1), {@code expert_weights_scale},
     * {@code expert_weights_norm}, the groups. YaRN's attention factor: llama.cpp keeps {@code 0.1 * mscale_all_dim} as
     * {@code yarn_log_multiplier}; every published checkpoint has {@code mscale == mscale_all_dim} (RoPE's own factor
     * then 1), which is what this reads back.
     */
    private void deepseek(String arch, ObjectNode c, int heads, long experts) {
        c.remove("head_dim");
        c.remove("partial_rotary_factor");
        c.put("num_key_value_heads", heads);
        long rope = need(arch + ".rope.dimension_count");
        boolean latentCache = file.getLong(arch + ".attention.key_length_mla", -1) > 0;
        long key = need(arch + ".attention.key_length" + (latentCache ? "_mla" : ""));
        long value = need(arch + ".attention.value_length" + (latentCache ? "_mla" : ""));
        if (key <= rope) {
            throw new ModelLoadException(file.path() + ": key length " + key + " is not above the rotated part " + rope);
        }
        c.put("kv_lora_rank", need(arch + ".attention.kv_lora_rank"));
        long qLora = file.getLong(arch + ".attention.q_lora_rank", 0);
        if (qLora > 0) {
            c.put("q_lora_rank", qLora);
        } else {
            c.putNull("q_lora_rank");
        }
        c.put("qk_rope_head_dim", rope);
        c.put("qk_nope_head_dim", key - rope);
        c.put("v_head_dim", value);
        c.put("rope_interleave", true); // llama.cpp's deepseek2 rotates adjacent pairs, as DeepSeek's own code does
        c.put("first_k_dense_replace", file.getLong(arch + ".leading_dense_block_count", 0));
        // absent in DeepSeek-V2/V2.5 files (softmax), and in some GLM-4.7-Flash files, which llama.cpp tells by their 47 or
        // 48 layers and 154880-token vocabulary (sigmoid); the same rule here
        long layers = file.getLong(arch + ".block_count", 0);
        boolean glmLite = (layers == 47 || layers == 48) && c.path("vocab_size").asLong() == 154880;
        long gating = file.getLong(arch + ".expert_gating_func", glmLite ? 2 : 1);
        if (gating != 1 && gating != 2) {
            throw new ModelLoadException(file.path() + ": expert_gating_func " + gating + " is not supported (1: softmax, 2: sigmoid)");
        }
        boolean v3 = gating == 2;
        c.putArray("architectures").removeAll().add(v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM");
        c.put("model_type", v3 ? "deepseek_v3" : "deepseek_v2");
        if (experts > 0) {
            routedExperts(arch, c, experts);
            c.put("scoring_func", v3 ? "sigmoid" : "softmax");
            c.put("topk_method", v3 ? "noaux_tc" : c.get("n_group").asLong() > 1 ? "group_limited_greedy" : "greedy");
        }
        if (c.get("rope_scaling") instanceof ObjectNode r && r.path("rope_type").asText().equals("yarn")) {
            float logMul = file.getFloat(arch + ".rope.scaling.yarn_log_multiplier", 0f);
            if (logMul > 0) {
                // the decimal the converter started from (0.707 for V2, 1.0 for V3): the key keeps 0.1 * mscale_all_dim to a
                // float's 7 digits, and dividing back lands a unit off (0.70699996), so round to 6
                double mscale = new java.math.BigDecimal(logMul / 0.1).round(new java.math.MathContext(6)).doubleValue();
                r.put("mscale", mscale);
                r.put("mscale_all_dim", mscale);
            }
            r.put("beta_fast", file.getFloat(arch + ".rope.scaling.yarn_beta_fast", 32f));
            r.put("beta_slow", file.getFloat(arch + ".rope.scaling.yarn_beta_slow", 1f));
        }
    }

    /**
     * DeepSeek's routed experts in config.json terms (GLM-4.5 has the same): {@code expert_count} of
     * {@code expert_feed_forward_length}, {@code expert_used_count} chosen, {@code expert_shared_count} shared,
     * {@code expert_weights_scale} (absent: 1), {@code expert_weights_norm} (absent: false, as llama.cpp reads it), the groups
     * ({@code expert_group_count} / {@code expert_group_used_count}, absent: one).
     */
    private void routedExperts(String arch, ObjectNode c, long experts) {
        c.put("n_routed_experts", experts);
        c.put("num_experts_per_tok", need(arch + ".expert_used_count"));
        c.put("moe_intermediate_size", need(arch + ".expert_feed_forward_length"));
        c.put("n_shared_experts", file.getLong(arch + ".expert_shared_count", 0));
        c.put("routed_scaling_factor", file.getFloat(arch + ".expert_weights_scale", 1f));
        c.put("norm_topk_prob", file.getBoolean(arch + ".expert_weights_norm", false));
        c.put("n_group", file.getLong(arch + ".expert_group_count", 1));
        c.put("topk_group", file.getLong(arch + ".expert_group_used_count", 1));
    }

    /**
     * Gemma's keys as llama.cpp reads them: {@code attention.sliding_window}, Gemma 2's soft caps; every sixth (Gemma 3)
     * or second (Gemma 2) layer global, Gemma 3's local RoPE base 10000 and scores scaled by head_dim^-0.5 (see
     * {@link #llamaCppQueryScalar}) unless the file says otherwise ({@code attention.sliding_window_pattern},
     * {@code rope.freq_base_swa}, {@code attention.scale}; see GgufWriter).
     */
    private void gemma(String arch, ObjectNode c, int hidden, int heads) {
        boolean gemma2 = arch.equals("gemma2");
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("sliding_window", need(arch + ".attention.sliding_window"));
        c.put("sliding_window_pattern", file.getLong(arch + ".attention.sliding_window_pattern", gemma2 ? 2 : 6));
        if (!gemma2) {
            c.put("rope_local_base_freq", file.getFloat(arch + ".rope.freq_base_swa", 10000f));
        }
        for (String cap : new String[] {"attn_logit_softcapping", "final_logit_softcapping"}) {
            float v = file.getFloat(arch + "." + cap, 0f);
            if (v > 0) {
                c.put(cap, v);
            }
        }
        double scalar = llamaCppQueryScalar(arch, c.get("num_hidden_layers").asInt(), hidden, heads, c.get("head_dim").asInt());
        float scale = file.getFloat(arch + ".attention.scale", (float) (1 / Math.sqrt(scalar)));
        c.put("query_pre_attn_scalar", 1 / ((double) scale * scale));
    }

    /** The query_pre_attn_scalar llama.cpp assumes for a Gemma file: hidden/heads for the 27B models (Gemma 2's 46 layers, Gemma 3's 62), else head_dim. */
    static double llamaCppQueryScalar(String arch, int layers, int hidden, int heads, int headDim) {
        boolean big = arch.equals("gemma2") ? layers == 46 : layers == 62;
        return big ? (double) hidden / heads : headDim;
    }

    private long need(String key) {
        long v = file.getLong(key, -1);
        if (v < 0) {
            throw new ModelLoadException(file.path() + ": GGUF metadata '" + key + "' is missing");
        }
        return v;
    }

    @Override
    public Collection<String> names() {
        List<String> all = new java.util.ArrayList<>(tensors.keySet());
        all.addAll(derived.keySet());
        return all;
    }

    @Override
    public Optional<TensorRef> find(String name) {
        TensorRef[] split = splitKvB.get(name);
        return split != null ? Optional.of(kvB(name, split[0], split[1])) : Optional.ofNullable(tensors.get(name));
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name) || derived.containsKey(name);
    }

    @Override
    public TensorRef.Info info(String name) {
        TensorRef.Info i = derived.get(name);
        return i != null ? i : Checkpoint.super.info(name);
    }

    /**
     * DeepSeek's {@code kv_b_proj} ({@code [heads * (nope + v), kv_lora_rank]}: each head's key rows, then its value rows)
     * put back together from the two tensors llama.cpp's converter splits it into for its absorbed attention:
     * {@code attn_k_b} ({@code [heads, kv_lora_rank, nope]}, each head's key rows transposed) and {@code attn_v_b}
     * ({@code [heads, v, kv_lora_rank]}). Widened to F32 (exact for every type: the values are the file's, rearranged),
     * made anew each time it is asked for: the attention widens it once at load anyway.
     */
    private TensorRef kvB(String name, TensorRef kb, TensorRef vb) {
        int heads = kb.dim(0), kvLora = kb.dim(1), nope = kb.dim(2), v = vb.dim(1);
        org.redhare.model.Weights w = new org.redhare.model.Weights(this);
        float[] k = w.floats(flat(kb), heads * kvLora, nope);
        float[] val = w.floats(flat(vb), heads * v, kvLora);
        int rows = heads * (nope + v);
        MemorySegment out = java.lang.foreign.Arena.ofAuto().allocate(4L * rows * kvLora, 64);
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < nope; j++) {
                long r = (long) h * (nope + v) + j;
                for (int c = 0; c < kvLora; c++) {
                    out.setAtIndex(F32_LE, r * kvLora + c, k[(h * kvLora + c) * nope + j]);
                }
            }
            MemorySegment.copy(val, h * v * kvLora, out, F32_LE, ((long) h * (nope + v) + nope) * kvLora * 4, v * kvLora);
        }
        return new TensorRef(name, DType.F32, new long[] {rows, kvLora}, out, file.path());
    }

    /** A 3-D tensor as the 2-D matrix of its rows. */
    private static TensorRef flat(TensorRef t) {
        return new TensorRef(t.name(), t.dtype(), new long[] {t.shape()[0] * t.shape()[1], t.shape()[2]}, t.data(), t.file());
    }

    @Override
    public String describe() {
        return file.path().toString();
    }

    @Override
    public void close() {
        file.close();
    }

    MemorySegment mapping() {
        return file.mapping();
    }
}
