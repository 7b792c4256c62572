package org.redhare.model.synth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.model.safetensors.SafetensorsWriter;

/**
 * Random-weight checkpoints in the shapes of real models and the Hugging Face layout (like vLLM's dummy
 * weights), so speed can be measured at realistic sizes without a model hub. Weights are uniform with a
 * standard deviation of 0.02 (norm weights 1); the values do not matter for speed. With {@code F8_E4M3}
 * the decoder layers' linear weights are block-quantized (128x128, {@code weight_scale_inv}) as in
 * DeepSeek-V3 and Qwen3-FP8 checkpoints; embeddings, norms, routers and the LM head stay BF16.
 */
public final class SyntheticModel {
    private SyntheticModel() {}

    /** A named dense model shape. */
    public record Shape(String name, String arch, int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate,
                        int vocab, boolean tied, double ropeTheta, int maxPositions, double eps, boolean llama3Rope) {}

    /**
     * A DeepSeek-V3-architecture shape (MLA + routed experts); with {@code qLora} 0, DeepSeek-V2-Lite's form instead: a plain
     * q projection, softmax routing without groups or bias, no renormalization, YaRN's mscale 0.707.
     */
    public record DeepseekShape(String name, int hidden, int layers, int heads, int qLora, int kvLora, int nope, int rope, int vDim,
                                int intermediate, int moeIntermediate, int experts, int topK, int nGroup, int topkGroup, int firstDense,
                                int shared, int vocab) {}

    /** A Qwen3-MoE shape: Qwen3 attention (q/k norms, no biases) and every layer a softmax-routed mixture of experts. */
    public record MoeShape(String name, int hidden, int layers, int heads, int kvHeads, int headDim, int moeIntermediate, int experts,
                           int topK, int vocab, boolean tied) {}

    public static final List<MoeShape> MOE_SHAPES = List.of(
            // Qwen3-30B-A3B: 48 layers of 128 experts (8 active) of 768; 30.5B weights, 3.3B read a token
            new MoeShape("qwen3-30b-a3b", 2048, 48, 32, 4, 128, 768, 128, 8, 151936, false),
            // the same layers, 6 of them: 4.2B weights (0.7B read a token), to fit and time on a small machine
            new MoeShape("qwen3-30b-a3b-6l", 2048, 6, 32, 4, 128, 768, 128, 8, 151936, false),
            new MoeShape("qwen3-moe-tiny", 64, 2, 4, 2, 16, 32, 8, 2, 512, false));

    public static final List<Shape> SHAPES = List.of(
            new Shape("qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 64, 4864, 151936, true, 1e6, 32768, 1e-6, false),
            new Shape("qwen2.5-1.5b", "qwen2", 1536, 28, 12, 2, 128, 8960, 151936, true, 1e6, 32768, 1e-6, false),
            new Shape("llama-3.2-1b", "llama", 2048, 16, 32, 8, 64, 8192, 128256, true, 5e5, 131072, 1e-5, true),
            new Shape("llama-3.2-3b", "llama", 3072, 28, 24, 8, 128, 8192, 128256, true, 5e5, 131072, 1e-5, true),
            new Shape("qwen3-0.6b", "qwen3", 1024, 28, 16, 8, 128, 3072, 151936, true, 1e6, 40960, 1e-6, false),
            new Shape("qwen3-1.7b", "qwen3", 2048, 28, 16, 8, 128, 6144, 151936, true, 1e6, 40960, 1e-6, false),
            new Shape("glm-4-9b", "glm4", 4096, 40, 32, 2, 128, 13696, 151552, false, 1e4, 32768, 1e-5, false),
            new Shape("gemma-3-270m", "gemma3", 640, 18, 4, 1, 256, 2048, 262144, true, 1e6, 32768, 1e-6, false),
            new Shape("gemma-3-1b", "gemma3", 1152, 26, 4, 1, 256, 6912, 262144, true, 1e6, 32768, 1e-6, false),
            new Shape("tiny", "llama", 64, 2, 4, 2, 16, 128, 512, false, 1e4, 512, 1e-5, false));

    public static final List<DeepseekShape> DEEPSEEK_SHAPES = List.of(
            // DeepSeek-V3's attention and routing geometry scaled to fit one small machine.
            new DeepseekShape("deepseek-v3-small", 2048, 8, 16, 768, 512, 128, 64, 128, 5632, 1024, 64, 6, 8, 4, 1, 1, 129280),
            new DeepseekShape("deepseek-v3-tiny", 64, 2, 4, 48, 32, 16, 8, 16, 128, 32, 8, 2, 4, 2, 1, 1, 512),
            // V2-Lite's 27 layers (llama.cpp's deepseek2 reader tells V2-Lite, which has no q LoRA, by them), tiny otherwise
            new DeepseekShape("deepseek-v2-lite-tiny", 64, 27, 4, 0, 32, 16, 8, 16, 128, 32, 8, 3, 1, 1, 1, 2, 512));

    public static List<String> shapeNames() {
        List<String> n = new ArrayList<>(SHAPES.stream().map(Shape::name).toList());
        DEEPSEEK_SHAPES.forEach(s -> n.add(s.name()));
        MOE_SHAPES.forEach(s -> n.add(s.name()));
        return n;
    }

    public static MoeShape moeShape(String name) {
        return MOE_SHAPES.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "unknown Qwen3-MoE shape '" + name + "'; known: " + MOE_SHAPES.stream().map(MoeShape::name).toList()));
    }

    /** The shape with a vocabulary of at least {@code vocab} tokens (rounded up to a multiple of 64), e.g. to fit a real tokenizer. */
    public static MoeShape withVocabAtLeast(MoeShape s, int vocab) {
        int v = Math.max(s.vocab(), (vocab + 63) / 64 * 64);
        return new MoeShape(s.name(), s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.headDim(), s.moeIntermediate(), s.experts(), s.topK(),
                v, s.tied());
    }

    public static Shape shape(String name) {
        return SHAPES.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "unknown shape '" + name + "' for this architecture; known: " + shapeNames()));
    }

    public static DeepseekShape deepseekShape(String name) {
        return DEEPSEEK_SHAPES.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "unknown DeepSeek shape '" + name + "'; known: " + DEEPSEEK_SHAPES.stream().map(DeepseekShape::name).toList()));
    }

    /** The shape with another architecture's conventions (biases, q/k norms) applied. */
    public static Shape withArch(Shape s, String arch) {
        return new Shape(s.name(), arch, s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.headDim(), s.intermediate(), s.vocab(),
                s.tied(), s.ropeTheta(), s.maxPositions(), s.eps(), s.llama3Rope() && arch.equals("llama"));
    }

    /** The shape with a vocabulary of at least {@code vocab} tokens (rounded up to a multiple of 64), e.g. to fit a real tokenizer. */
    public static Shape withVocabAtLeast(Shape s, int vocab) {
        int v = Math.max(s.vocab(), (vocab + 63) / 64 * 64);
        return new Shape(s.name(), s.arch(), s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.headDim(), s.intermediate(), v,
                s.tied(), s.ropeTheta(), s.maxPositions(), s.eps(), s.llama3Rope());
    }

    /** Collects the tensors of a checkpoint in order. */
    private static final class Tensors {
        final List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        final DType dtype;
        long counter;

        Tensors(DType dtype, long seed) {
            this.dtype = dtype;
            this.counter = seed;
        }

        DType plain() {
            return dtype == DType.F8_E4M3 ? DType.BF16 : dtype;
        }

        void norm(String name, int n) {
            entries.add(ones(name, plain(), n));
        }

        void vector(String name, int n) {
            entries.add(random(name, plain(), counter++, n));
        }

        /** An embedding, LM head or router: never FP8. */
        void plainMatrix(String name, int rows, int cols) {
            entries.add(random(name, plain(), counter++, rows, cols));
        }

        /** A decoder-layer linear weight: FP8 with block scales when the checkpoint is FP8. */
        void linear(String name, int rows, int cols) {
            if (dtype != DType.F8_E4M3) {
                entries.add(random(name, dtype, counter++, rows, cols));
                return;
            }
            long seed = mix(counter++);
            float a = 0.02f * (float) Math.sqrt(3);
            float scale = a / 448f;
            entries.add(new SafetensorsWriter.Entry(name, DType.F8_E4M3, new long[] {rows, cols}, (buf, off) -> {
                long x = seed ^ (off * 0xBF58476D1CE4E5B9L) | 1;
                while (buf.hasRemaining()) {
                    x = xorshift(x);
                    float u = ((x >>> 40) * 0x1p-24f) * 2 - 1;
                    buf.put(Numbers.floatToE4m3(u * a / scale));
                }
            }));
            int sr = (rows + 127) / 128;
            int sc = (cols + 127) / 128;
            entries.add(new SafetensorsWriter.Entry(name + "_scale_inv", DType.F32, new long[] {sr, sc}, (buf, off) -> {
                while (buf.hasRemaining()) {
                    buf.putFloat(scale);
                }
            }));
        }

        void mlp(String prefix, int inter, int hidden) {
            linear(prefix + "gate_proj.weight", inter, hidden);
            linear(prefix + "up_proj.weight", inter, hidden);
            linear(prefix + "down_proj.weight", hidden, inter);
        }

        /** Grouped-query attention at {@code p} ("model.layers.N.self_attn."): q/k/v, their biases, q/k norms, o. */
        void attention(String p, int hidden, int q, int kv, int headDim, boolean bias, boolean qkNorm) {
            linear(p + "q_proj.weight", q, hidden);
            linear(p + "k_proj.weight", kv, hidden);
            linear(p + "v_proj.weight", kv, hidden);
            if (bias) {
                vector(p + "q_proj.bias", q);
                vector(p + "k_proj.bias", kv);
                vector(p + "v_proj.bias", kv);
            }
            if (qkNorm) {
                norm(p + "q_norm.weight", headDim);
                norm(p + "k_norm.weight", headDim);
            }
            linear(p + "o_proj.weight", hidden, q);
        }
    }

    public static void write(Shape s, DType dtype, Path out, long seed, BiConsumer<Long, Long> progress) throws IOException {
        checkDtype(dtype);
        Files.createDirectories(out);
        Files.writeString(out.resolve("config.json"), config(s, dtype));
        Tensors w = new Tensors(dtype, seed);
        int h = s.hidden();
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        boolean glm = s.arch().equals("glm4");
        boolean bias = s.arch().equals("qwen2") || glm;
        boolean gemma = s.arch().equals("gemma3");
        boolean qkNorm = s.arch().equals("qwen3") || gemma;
        w.plainMatrix("model.embed_tokens.weight", s.vocab(), h);
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            w.norm(p + "input_layernorm.weight", h);
            w.attention(p + "self_attn.", h, q, kv, s.headDim(), bias, qkNorm);
            w.norm(p + "post_attention_layernorm.weight", h);
            if (gemma) { // Gemma 3: post_attention_layernorm (above) normalizes the attention's output; two more around the MLP
                w.norm(p + "pre_feedforward_layernorm.weight", h);
                w.norm(p + "post_feedforward_layernorm.weight", h);
                w.mlp(p + "mlp.", s.intermediate(), h);
            } else if (glm) { // GLM-4: one fused gate/up matrix, and a norm after each block
                w.norm(p + "post_self_attn_layernorm.weight", h);
                w.norm(p + "post_mlp_layernorm.weight", h);
                w.linear(p + "mlp.gate_up_proj.weight", 2 * s.intermediate(), h);
                w.linear(p + "mlp.down_proj.weight", h, s.intermediate());
            } else {
                w.mlp(p + "mlp.", s.intermediate(), h);
            }
        }
        w.norm("model.norm.weight", h);
        if (!s.tied()) {
            w.plainMatrix("lm_head.weight", s.vocab(), h);
        }
        SafetensorsWriter.write(out.resolve("model.safetensors"), w.entries, Map.of("format", "pt", "generator", "redhare synth " + s.name()), progress);
    }

    public static void write(DeepseekShape s, DType dtype, Path out, long seed, BiConsumer<Long, Long> progress) throws IOException {
        checkDtype(dtype);
        Files.createDirectories(out);
        Files.writeString(out.resolve("config.json"), config(s, dtype));
        Tensors w = new Tensors(dtype, seed);
        int h = s.hidden();
        w.plainMatrix("model.embed_tokens.weight", s.vocab(), h);
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            w.norm(p + "input_layernorm.weight", h);
            if (s.qLora() > 0) {
                w.linear(p + "self_attn.q_a_proj.weight", s.qLora(), h);
                w.norm(p + "self_attn.q_a_layernorm.weight", s.qLora());
                w.linear(p + "self_attn.q_b_proj.weight", s.heads() * (s.nope() + s.rope()), s.qLora());
            } else {
                w.linear(p + "self_attn.q_proj.weight", s.heads() * (s.nope() + s.rope()), h);
            }
            w.linear(p + "self_attn.kv_a_proj_with_mqa.weight", s.kvLora() + s.rope(), h);
            w.norm(p + "self_attn.kv_a_layernorm.weight", s.kvLora());
            w.linear(p + "self_attn.kv_b_proj.weight", s.heads() * (s.nope() + s.vDim()), s.kvLora());
            w.linear(p + "self_attn.o_proj.weight", h, s.heads() * s.vDim());
            w.norm(p + "post_attention_layernorm.weight", h);
            if (l < s.firstDense()) {
                w.mlp(p + "mlp.", s.intermediate(), h);
            } else {
                w.plainMatrix(p + "mlp.gate.weight", s.experts(), h);
                if (s.qLora() > 0) {
                    w.entries.add(random(p + "mlp.gate.e_score_correction_bias", DType.F32, w.counter++, s.experts()));
                }
                for (int e = 0; e < s.experts(); e++) {
                    w.mlp(p + "mlp.experts." + e + ".", s.moeIntermediate(), h);
                }
                w.mlp(p + "mlp.shared_experts.", s.moeIntermediate() * s.shared(), h);
            }
        }
        w.norm("model.norm.weight", h);
        w.plainMatrix("lm_head.weight", s.vocab(), h);
        SafetensorsWriter.write(out.resolve("model.safetensors"), w.entries, Map.of("format", "pt", "generator", "redhare synth " + s.name()), progress);
    }

    public static void write(MoeShape s, DType dtype, Path out, long seed, BiConsumer<Long, Long> progress) throws IOException {
        checkDtype(dtype);
        Files.createDirectories(out);
        Files.writeString(out.resolve("config.json"), config(s, dtype));
        Tensors w = new Tensors(dtype, seed);
        int h = s.hidden();
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        w.plainMatrix("model.embed_tokens.weight", s.vocab(), h);
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            w.norm(p + "input_layernorm.weight", h);
            w.attention(p + "self_attn.", h, q, kv, s.headDim(), false, true);
            w.norm(p + "post_attention_layernorm.weight", h);
            w.plainMatrix(p + "mlp.gate.weight", s.experts(), h);
            for (int e = 0; e < s.experts(); e++) {
                w.mlp(p + "mlp.experts." + e + ".", s.moeIntermediate(), h);
            }
        }
        w.norm("model.norm.weight", h);
        if (!s.tied()) {
            w.plainMatrix("lm_head.weight", s.vocab(), h);
        }
        SafetensorsWriter.write(out.resolve("model.safetensors"), w.entries, Map.of("format", "pt", "generator", "redhare synth " + s.name()), progress);
    }

    static String config(MoeShape s, DType dtype) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = common(json, "Qwen3MoeForCausalLM", "qwen3_moe", s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.vocab(), 40960, 1e-6,
                1e6, s.tied(), dtype);
        c.put("head_dim", s.headDim());
        c.put("intermediate_size", 6144);
        c.put("moe_intermediate_size", s.moeIntermediate());
        c.put("num_experts", s.experts());
        c.put("num_experts_per_tok", s.topK());
        c.put("norm_topk_prob", true);
        c.put("decoder_sparse_step", 1);
        c.putArray("mlp_only_layers");
        return json.writeValueAsString(c);
    }

    private static void checkDtype(DType dtype) {
        if (dtype != DType.BF16 && dtype != DType.F32 && dtype != DType.F16 && dtype != DType.F8_E4M3) {
            throw new IllegalArgumentException("synth writes bf16, f16, f32 or fp8 checkpoints, not " + dtype);
        }
    }

    private static ObjectNode common(ObjectMapper json, String cls, String type, int hidden, int layers, int heads, int kvHeads, int vocab,
                                     int maxPos, double eps, double theta, boolean tied, DType dtype) {
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add(cls);
        c.put("model_type", type);
        c.put("hidden_size", hidden);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("vocab_size", vocab);
        c.put("max_position_embeddings", maxPos);
        c.put("rms_norm_eps", eps);
        c.put("rope_theta", theta);
        c.put("tie_word_embeddings", tied);
        c.put("hidden_act", "silu");
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", switch (dtype) {
            case F16 -> "float16";
            case F32 -> "float32";
            default -> "bfloat16";
        });
        if (dtype == DType.F8_E4M3) {
            ObjectNode q = c.putObject("quantization_config");
            q.put("quant_method", "fp8");
            q.put("fmt", "e4m3");
            q.put("activation_scheme", "dynamic");
            q.putArray("weight_block_size").add(128).add(128);
        }
        return c;
    }

    static String config(Shape s, DType dtype) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        String cls = switch (s.arch()) {
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "llama" -> "LlamaForCausalLM";
            case "glm4" -> "Glm4ForCausalLM";
            case "gemma3" -> "Gemma3ForCausalLM";
            default -> throw new IllegalArgumentException("unknown arch '" + s.arch() + "': use qwen2, qwen3, llama, glm4, gemma3 or deepseek-v3");
        };
        ObjectNode c = common(json, cls, s.arch(), s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.vocab(), s.maxPositions(), s.eps(),
                s.ropeTheta(), s.tied(), dtype);
        c.put("intermediate_size", s.intermediate());
        c.put("head_dim", s.headDim());
        if (s.arch().equals("glm4")) {
            c.put("partial_rotary_factor", 0.5);
            c.put("attention_bias", true);
        }
        if (s.arch().equals("gemma3")) { // Gemma 3 1B's: every sixth layer global, the others a 512-key window
            c.put("model_type", "gemma3_text");
            c.remove("hidden_act");
            c.put("hidden_activation", "gelu_pytorch_tanh");
            c.put("query_pre_attn_scalar", s.headDim());
            c.put("sliding_window", 512);
            c.put("sliding_window_pattern", 6);
            c.put("rope_local_base_freq", 10000.0);
            c.put("bos_token_id", 2); // Gemma's <bos>, <eos> and <end_of_turn>
            c.putArray("eos_token_id").add(1).add(106);
        }
        if (s.llama3Rope()) {
            ObjectNode r = c.putObject("rope_scaling");
            r.put("rope_type", "llama3");
            r.put("factor", 32.0);
            r.put("low_freq_factor", 1.0);
            r.put("high_freq_factor", 4.0);
            r.put("original_max_position_embeddings", 8192);
        }
        return json.writeValueAsString(c);
    }

    static String config(DeepseekShape s, DType dtype) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        boolean v2 = s.qLora() == 0;
        ObjectNode c = common(json, v2 ? "DeepseekV2ForCausalLM" : "DeepseekV3ForCausalLM", v2 ? "deepseek_v2" : "deepseek_v3", s.hidden(),
                s.layers(), s.heads(), s.heads(), s.vocab(), 163840, 1e-6, 10000, false, dtype);
        c.put("intermediate_size", s.intermediate());
        c.put("moe_intermediate_size", s.moeIntermediate());
        if (v2) {
            c.putNull("q_lora_rank");
        } else {
            c.put("q_lora_rank", s.qLora());
        }
        c.put("kv_lora_rank", s.kvLora());
        c.put("qk_nope_head_dim", s.nope());
        c.put("qk_rope_head_dim", s.rope());
        c.put("v_head_dim", s.vDim());
        c.put("n_routed_experts", s.experts());
        c.put("num_experts_per_tok", s.topK());
        c.put("n_group", s.nGroup());
        c.put("topk_group", s.topkGroup());
        c.put("n_shared_experts", s.shared());
        c.put("first_k_dense_replace", s.firstDense());
        c.put("moe_layer_freq", 1);
        c.put("norm_topk_prob", !v2);
        c.put("routed_scaling_factor", v2 ? 1.0 : 2.5);
        c.put("scoring_func", v2 ? "softmax" : "sigmoid");
        c.put("topk_method", v2 ? "greedy" : "noaux_tc");
        c.put("rope_interleave", true);
        c.put("num_nextn_predict_layers", 0);
        ObjectNode r = c.putObject("rope_scaling");
        r.put("type", "yarn");
        r.put("factor", 40);
        r.put("beta_fast", 32);
        r.put("beta_slow", 1);
        r.put("mscale", v2 ? 0.707 : 1.0);
        r.put("mscale_all_dim", v2 ? 0.707 : 1.0);
        r.put("original_max_position_embeddings", 4096);
        return json.writeValueAsString(c);
    }

    private static SafetensorsWriter.Entry ones(String name, DType dtype, int n) {
        return new SafetensorsWriter.Entry(name, dtype, new long[] {n}, (buf, off) -> {
            while (buf.hasRemaining()) {
                put(buf, dtype, 1f);
            }
        });
    }

    private static long mix(long counter) {
        return counter * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
    }

    private static long xorshift(long x) {
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        return x;
    }

    private static SafetensorsWriter.Entry random(String name, DType dtype, long counter, long... shape) {
        long seed = mix(counter);
        return new SafetensorsWriter.Entry(name, dtype, shape, (buf, off) -> {
            // xorshift keyed by the byte offset, so any chunk is reproducible on its own
            long x = seed ^ (off * 0xBF58476D1CE4E5B9L) | 1;
            float a = 0.02f * (float) Math.sqrt(3); // uniform(-a, a) has std 0.02
            while (buf.hasRemaining()) {
                x = xorshift(x);
                float u = ((x >>> 40) * 0x1p-24f) * 2 - 1;
                put(buf, dtype, u * a);
            }
        });
    }

    private static void put(ByteBuffer buf, DType dtype, float v) {
        switch (dtype) {
            case BF16 -> buf.putShort(Numbers.floatToBf16(v));
            case F16 -> buf.putShort(Float.floatToFloat16(v));
            default -> buf.putFloat(v);
        }
    }
}
