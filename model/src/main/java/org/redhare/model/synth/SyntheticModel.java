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
 * standard deviation of 0.02 (norm weights 1); the values do not matter for speed.
 */
public final class SyntheticModel {
    private SyntheticModel() {}

    /** A named model shape. */
    public record Shape(String name, String arch, int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate,
                        int vocab, boolean tied, double ropeTheta, int maxPositions, double eps, boolean llama3Rope) {}

    public static final List<Shape> SHAPES = List.of(
            new Shape("qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 64, 4864, 151936, true, 1e6, 32768, 1e-6, false),
            new Shape("qwen2.5-1.5b", "qwen2", 1536, 28, 12, 2, 128, 8960, 151936, true, 1e6, 32768, 1e-6, false),
            new Shape("llama-3.2-1b", "llama", 2048, 16, 32, 8, 64, 8192, 128256, true, 5e5, 131072, 1e-5, true),
            new Shape("llama-3.2-3b", "llama", 3072, 28, 24, 8, 128, 8192, 128256, true, 5e5, 131072, 1e-5, true),
            new Shape("qwen3-0.6b", "qwen3", 1024, 28, 16, 8, 128, 3072, 151936, true, 1e6, 40960, 1e-6, false),
            new Shape("qwen3-1.7b", "qwen3", 2048, 28, 16, 8, 128, 6144, 151936, true, 1e6, 40960, 1e-6, false),
            new Shape("tiny", "llama", 64, 2, 4, 2, 16, 128, 512, false, 1e4, 512, 1e-5, false));

    public static Shape shape(String name) {
        return SHAPES.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "unknown shape '" + name + "'; known: " + SHAPES.stream().map(Shape::name).toList()));
    }

    /** The shape with another architecture's conventions (biases, q/k norms) applied. */
    public static Shape withArch(Shape s, String arch) {
        return new Shape(s.name(), arch, s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.headDim(), s.intermediate(), s.vocab(),
                s.tied(), s.ropeTheta(), s.maxPositions(), s.eps(), s.llama3Rope() && arch.equals("llama"));
    }

    public static void write(Shape s, DType dtype, Path out, long seed, BiConsumer<Long, Long> progress) throws IOException {
        if (dtype != DType.BF16 && dtype != DType.F32 && dtype != DType.F16) {
            throw new IllegalArgumentException("synth writes bf16, f16 or f32 checkpoints, not " + dtype);
        }
        Files.createDirectories(out);
        Files.writeString(out.resolve("config.json"), config(s, dtype));
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        int h = s.hidden();
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        boolean bias = s.arch().equals("qwen2");
        boolean qkNorm = s.arch().equals("qwen3");
        long[] counter = {seed};
        entries.add(random("model.embed_tokens.weight", dtype, counter, s.vocab(), h));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            entries.add(ones(p + "input_layernorm.weight", dtype, h));
            entries.add(random(p + "self_attn.q_proj.weight", dtype, counter, q, h));
            entries.add(random(p + "self_attn.k_proj.weight", dtype, counter, kv, h));
            entries.add(random(p + "self_attn.v_proj.weight", dtype, counter, kv, h));
            if (bias) {
                entries.add(random(p + "self_attn.q_proj.bias", dtype, counter, q));
                entries.add(random(p + "self_attn.k_proj.bias", dtype, counter, kv));
                entries.add(random(p + "self_attn.v_proj.bias", dtype, counter, kv));
            }
            if (qkNorm) {
                entries.add(ones(p + "self_attn.q_norm.weight", dtype, s.headDim()));
                entries.add(ones(p + "self_attn.k_norm.weight", dtype, s.headDim()));
            }
            entries.add(random(p + "self_attn.o_proj.weight", dtype, counter, h, q));
            entries.add(ones(p + "post_attention_layernorm.weight", dtype, h));
            entries.add(random(p + "mlp.gate_proj.weight", dtype, counter, s.intermediate(), h));
            entries.add(random(p + "mlp.up_proj.weight", dtype, counter, s.intermediate(), h));
            entries.add(random(p + "mlp.down_proj.weight", dtype, counter, h, s.intermediate()));
        }
        entries.add(ones("model.norm.weight", dtype, h));
        if (!s.tied()) {
            entries.add(random("lm_head.weight", dtype, counter, s.vocab(), h));
        }
        SafetensorsWriter.write(out.resolve("model.safetensors"), entries, Map.of("format", "pt", "generator", "redhare synth " + s.name()), progress);
    }

    static String config(Shape s, DType dtype) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = json.createObjectNode();
        String cls = switch (s.arch()) {
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "llama" -> "LlamaForCausalLM";
            default -> throw new IllegalArgumentException("unknown arch '" + s.arch() + "': use qwen2, qwen3 or llama");
        };
        c.putArray("architectures").add(cls);
        c.put("model_type", s.arch());
        c.put("hidden_size", s.hidden());
        c.put("intermediate_size", s.intermediate());
        c.put("num_hidden_layers", s.layers());
        c.put("num_attention_heads", s.heads());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("head_dim", s.headDim());
        c.put("vocab_size", s.vocab());
        c.put("max_position_embeddings", s.maxPositions());
        c.put("rms_norm_eps", s.eps());
        c.put("rope_theta", s.ropeTheta());
        if (s.llama3Rope()) {
            ObjectNode r = c.putObject("rope_scaling");
            r.put("rope_type", "llama3");
            r.put("factor", 32.0);
            r.put("low_freq_factor", 1.0);
            r.put("high_freq_factor", 4.0);
            r.put("original_max_position_embeddings", 8192);
        }
        c.put("tie_word_embeddings", s.tied());
        c.put("hidden_act", "silu");
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        });
        return json.writeValueAsString(c);
    }

    private static SafetensorsWriter.Entry ones(String name, DType dtype, int n) {
        return new SafetensorsWriter.Entry(name, dtype, new long[] {n}, (buf, off) -> {
            while (buf.hasRemaining()) {
                put(buf, dtype, 1f);
            }
        });
    }

    private static SafetensorsWriter.Entry random(String name, DType dtype, long[] counter, long... shape) {
        long seed = counter[0]++ * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
        return new SafetensorsWriter.Entry(name, dtype, shape, (buf, off) -> {
            // xorshift keyed by the byte offset, so any chunk is reproducible on its own
            long x = seed ^ (off * 0xBF58476D1CE4E5B9L) | 1;
            float a = 0.02f * (float) Math.sqrt(3); // uniform(-a, a) has std 0.02
            while (buf.hasRemaining()) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
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
