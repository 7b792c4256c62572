package org.redhare.model;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.model.safetensors.SafetensorsWriter;

/**
 * The weights of the fixtures in {@code src/test/resources/fixtures} ({@code glm4-tiny}, {@code glm4-moe-tiny},
 * {@code gemma3-tiny}, {@code gemma2-tiny}, {@code qwen2-moe-tiny}), written at
 * test time rather than committed: normal values from {@link Random#nextGaussian} (specified exactly, so the same on
 * every JVM), seeded by the tensor's name, scaled per tensor so the models are not degenerate, rounded to BF16 (the
 * router's correction bias stays F32). The fixtures' reference logits were computed from files written by this class
 * ({@code scripts/reference/*_reference.py --weights}), so a change here must be followed by new references.
 */
final class FixtureWeights {
    private FixtureWeights() {}

    static final List<String> FIXTURES = List.of("glm4-tiny", "glm4-moe-tiny", "gemma3-tiny", "gemma2-tiny", "qwen2-moe-tiny");

    /** A fixture's directory with its config and reference, plus the weights, under {@code tmp}. */
    static Path materialize(String fixture, Path tmp) throws Exception {
        Path src = Path.of(FixtureWeights.class.getResource("/fixtures/" + fixture).toURI());
        Path dir = tmp.resolve(fixture);
        Files.createDirectories(dir.resolve("reference"));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        try (var files = Files.list(src.resolve("reference"))) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve("reference").resolve(f.getFileName()));
            }
        }
        write(fixture, dir.resolve("model.safetensors"));
        // the reference was computed from exactly these bytes: a change to this class needs new references
        String want = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("reference/cases.json").toFile())
                .path("weights").path("sha256").asText();
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(dir.resolve("model.safetensors")));
        String got = java.util.HexFormat.of().formatHex(digest);
        if (!got.equals(want)) {
            throw new IllegalStateException(fixture + ": the weights FixtureWeights writes (sha256 " + got + ") are not those its reference"
                    + " was computed from (" + want + "): rerun scripts/reference/*_reference.py --weights on the new file");
        }
        return dir;
    }

    static void write(String fixture, Path file) throws IOException {
        if (fixture.startsWith("gemma")) {
            writeGemma(file, fixture.equals("gemma3-tiny"));
            return;
        }
        if (fixture.equals("qwen2-moe-tiny")) {
            writeQwen2Moe(file);
            return;
        }
        List<SafetensorsWriter.Entry> out = new ArrayList<>();
        int h = 64;
        boolean moe = fixture.equals("glm4-moe-tiny");
        int layers = moe ? 3 : 2;
        int heads = 4;
        int kv = 2;
        int hd = 32;
        int q = heads * hd;
        int k = kv * hd;
        int vocab = 512;
        out.add(bf16("model.embed_tokens.weight", 1.0, vocab, h));
        for (int l = 0; l < (moe ? layers + 1 : layers); l++) { // GLM-4.5 ships a multi-token-prediction layer past the last
            String p = "model.layers." + l + ".";
            normsAndBiasedAttention(out, p, h, q, k);
            if (!moe) {
                out.add(norm(p + "post_self_attn_layernorm.weight", h));
                out.add(norm(p + "post_mlp_layernorm.weight", h));
                out.add(bf16(p + "mlp.gate_up_proj.weight", 1 / Math.sqrt(h), 320, h));
                out.add(bf16(p + "mlp.down_proj.weight", 0.5 / Math.sqrt(160), h, 160));
                continue;
            }
            out.add(norm(p + "self_attn.q_norm.weight", hd));
            out.add(norm(p + "self_attn.k_norm.weight", hd));
            if (l == 0) {
                mlp(out, p + "mlp.", 160, h);
            } else {
                out.add(bf16(p + "mlp.gate.weight", 1 / Math.sqrt(h), 8, h));
                out.add(f32(p + "mlp.gate.e_score_correction_bias", 0.25, 8));
                for (int e = 0; e < 8; e++) {
                    mlp(out, p + "mlp.experts." + e + ".", 32, h);
                }
                mlp(out, p + "mlp.shared_experts.", 32, h);
            }
            if (l == layers) {
                out.add(bf16(p + "eh_proj.weight", 1 / Math.sqrt(2 * h), h, 2 * h));
                out.add(norm(p + "enorm.weight", h));
                out.add(norm(p + "hnorm.weight", h));
                out.add(norm(p + "shared_head.norm.weight", h));
            }
        }
        out.add(norm("model.norm.weight", h));
        out.add(bf16("lm_head.weight", 0.37, vocab, h)); // logits of about unit-RMS states then have a spread of about 3
        SafetensorsWriter.write(file, out, Map.of("format", "pt"), null);
    }

    /** Gemma 3 and 2: norms around 0 (the model multiplies by 1 + w), four per layer, Gemma 3's q/k norms, tied embeddings. */
    private static void writeGemma(Path file, boolean qkNorms) throws IOException {
        List<SafetensorsWriter.Entry> out = new ArrayList<>();
        int h = 64;
        int q = 4 * 32;
        int k = 2 * 32;
        out.add(bf16("model.embed_tokens.weight", 0.12, 512, h)); // times sqrt(64) = 8 on the way in: an RMS of about 1
        for (int l = 0; l < 4; l++) {
            String p = "model.layers." + l + ".";
            for (String n : List.of("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm")) {
                out.add(entry(p + n + ".weight", DType.BF16, values(p + n + ".weight", 0, 0.1, h), h));
            }
            out.add(bf16(p + "self_attn.q_proj.weight", 1.4 / Math.sqrt(h), q, h));
            out.add(bf16(p + "self_attn.k_proj.weight", 1.4 / Math.sqrt(h), k, h));
            out.add(bf16(p + "self_attn.v_proj.weight", 1 / Math.sqrt(h), k, h));
            out.add(bf16(p + "self_attn.o_proj.weight", 1 / Math.sqrt(q), h, q));
            if (qkNorms) {
                out.add(entry(p + "self_attn.q_norm.weight", DType.BF16, values(p + "self_attn.q_norm.weight", 0, 0.1, 32), 32));
                out.add(entry(p + "self_attn.k_norm.weight", DType.BF16, values(p + "self_attn.k_norm.weight", 0, 0.1, 32), 32));
            }
            mlp(out, p + "mlp.", 160, h);
        }
        out.add(entry("model.norm.weight", DType.BF16, values("model.norm.weight", 0, 0.1, h), h));
        SafetensorsWriter.write(file, out, Map.of("format", "pt"), null);
    }

    /**
     * Qwen2-MoE (Qwen1.5-MoE-A2.7B's form): q/k/v biases, head_dim 16, every layer 8 softmax-routed experts of 32 (2 chosen,
     * not renormalized) beside a shared expert of 64 whose output a sigmoid gate ({@code shared_expert_gate}, one row)
     * scales; untied head.
     */
    private static void writeQwen2Moe(Path file) throws IOException {
        List<SafetensorsWriter.Entry> out = new ArrayList<>();
        int h = 64;
        int q = 4 * 16;
        int k = 2 * 16;
        out.add(bf16("model.embed_tokens.weight", 1.0, 512, h));
        for (int l = 0; l < 3; l++) {
            String p = "model.layers." + l + ".";
            normsAndBiasedAttention(out, p, h, q, k);
            out.add(bf16(p + "mlp.gate.weight", 1 / Math.sqrt(h), 8, h));
            for (int e = 0; e < 8; e++) {
                mlp(out, p + "mlp.experts." + e + ".", 32, h);
            }
            mlp(out, p + "mlp.shared_expert.", 64, h);
            out.add(bf16(p + "mlp.shared_expert_gate.weight", 1 / Math.sqrt(h), 1, h));
        }
        out.add(norm("model.norm.weight", h));
        out.add(bf16("lm_head.weight", 0.37, 512, h));
        SafetensorsWriter.write(file, out, Map.of("format", "pt"), null);
    }

    /** A layer's two norms, then q/k/v projections with biases and the output projection (GLM-4, GLM-4.5, Qwen2-MoE). */
    private static void normsAndBiasedAttention(List<SafetensorsWriter.Entry> out, String p, int h, int q, int k) {
        out.add(norm(p + "input_layernorm.weight", h));
        out.add(norm(p + "post_attention_layernorm.weight", h));
        out.add(bf16(p + "self_attn.q_proj.weight", 1.4 / Math.sqrt(h), q, h));
        out.add(bf16(p + "self_attn.q_proj.bias", 0.1, q));
        out.add(bf16(p + "self_attn.k_proj.weight", 1.4 / Math.sqrt(h), k, h));
        out.add(bf16(p + "self_attn.k_proj.bias", 0.1, k));
        out.add(bf16(p + "self_attn.v_proj.weight", 1 / Math.sqrt(h), k, h));
        out.add(bf16(p + "self_attn.v_proj.bias", 0.1, k));
        out.add(bf16(p + "self_attn.o_proj.weight", 1 / Math.sqrt(q), h, q));
    }

    private static void mlp(List<SafetensorsWriter.Entry> out, String p, int inter, int h) {
        out.add(bf16(p + "gate_proj.weight", 1 / Math.sqrt(h), inter, h));
        out.add(bf16(p + "up_proj.weight", 1 / Math.sqrt(h), inter, h));
        out.add(bf16(p + "down_proj.weight", 0.5 / Math.sqrt(inter), h, inter));
    }

    private static double[] values(String name, double mean, double std, long n) {
        Random r = new Random(name.hashCode());
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = mean + std * r.nextGaussian();
        }
        return v;
    }

    private static SafetensorsWriter.Entry norm(String name, int n) {
        return entry(name, DType.BF16, values(name, 1, 0.1, n), n);
    }

    private static SafetensorsWriter.Entry bf16(String name, double std, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return entry(name, DType.BF16, values(name, 0, std, n), shape);
    }

    private static SafetensorsWriter.Entry f32(String name, double std, long n) {
        return entry(name, DType.F32, values(name, 0, std, n), n);
    }

    private static SafetensorsWriter.Entry entry(String name, DType dtype, double[] v, long... shape) {
        return new SafetensorsWriter.Entry(name, dtype, shape, (buf, off) -> {
            buf.order(ByteOrder.LITTLE_ENDIAN);
            int i = (int) (off / (dtype == DType.BF16 ? 2 : 4));
            while (buf.hasRemaining()) {
                if (dtype == DType.BF16) {
                    buf.putShort(Numbers.floatToBf16((float) v[i++]));
                } else {
                    buf.putFloat((float) v[i++]);
                }
            }
        });
    }

    /** Writes every fixture's weights under {@code args[0]} (for the reference scripts). */
    public static void main(String[] args) throws IOException {
        for (String f : FIXTURES) {
            Path d = Path.of(args[0]).resolve(f);
            Files.createDirectories(d);
            write(f, d.resolve("model.safetensors"));
        }
    }
}
