package org.redhare.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;

/**
 * GLM-4 ({@code Glm4ForCausalLM}) against an independent float64 reference of transformers' forward pass
 * ({@code scripts/reference/glm4_reference.py}, which computed the fixture's reference from the weights {@link FixtureWeights} writes): logits at every prompt position, the 16-token
 * greedy continuation decoded with the KV cache, the prompt's mean negative log-likelihood. The fixtures' configs and
 * references ship in the repository and their weights are written at test time ({@link FixtureWeights}), so this runs
 * without {@code ../shared}. Swapping the RoPE pairing, rotating the whole head,
 * or swapping the fused gate/up halves each moves the logits by more than 10.
 */
class FamilyFixtureTest {
    static Path fixture() throws Exception {
        return fixture("glm4-tiny");
    }

    @org.junit.jupiter.api.io.TempDir
    static Path tmp;

    /** The fixture's config and reference from the test resources, with its weights written now ({@link FixtureWeights}). */
    static synchronized Path fixture(String name) throws Exception {
        Path d = tmp.resolve(name);
        return java.nio.file.Files.exists(d) ? d : FixtureWeights.materialize(name, tmp);
    }

    @Test
    void glm4MatchesTheReference() throws Exception {
        check(fixture(), fixture());
    }

    /**
     * GLM-4.5 ({@code Glm4MoeForCausalLM}, {@code scripts/reference/glm4_moe_reference.py}; transformers itself reproduced
     * the fixture to 1e-5): rotate-half partial RoPE, q/k norms before it, a dense first layer, then DeepSeek-V3-style
     * routed experts whose correction bias changes most routing decisions, shared experts, and a multi-token-prediction
     * layer in the checkpoint that must not run.
     */
    @Test
    void glm45MatchesTheReference() throws Exception {
        check(fixture("glm4-moe-tiny"), fixture("glm4-moe-tiny"));
    }

    /**
     * GLM-4.5 converted to GGUF as llama.cpp's converter lays glm4moe out (the norm before the feed-forward as
     * post_attention_norm, experts stacked, the routers in F32 beside their exp_probs_b correction, shared experts as
     * ffn_*_shexp, sigmoid gating, the routing groups, the dense first layer) reads back as the same model; the
     * multi-token-prediction layer is left out.
     */
    @Test
    void glm45ConvertedToGgufMatchesTheReference(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path gguf = toGguf(fixture("glm4-moe-tiny"), tmp);
        try (org.redhare.model.gguf.GgufFile f = org.redhare.model.gguf.GgufFile.open(gguf)) {
            assertThat(f.getString("general.architecture", null)).isEqualTo("glm4moe");
            assertThat(f.getLong("glm4moe.block_count", -1)).isEqualTo(3);
            assertThat(f.tensor("blk.3.attn_q.weight")).as("the MTP layer").isNull();
            assertThat(f.tensor("blk.1.post_attention_norm.weight")).isNotNull();
            assertThat(f.tensor("blk.1.ffn_norm.weight")).isNull();
            assertThat(f.tensor("blk.1.exp_probs_b.bias")).isNotNull();
            assertThat(f.tensor("blk.1.ffn_up_shexp.weight")).isNotNull();
            assertThat(f.tensor("blk.0.ffn_gate.weight")).isNotNull();
            assertThat(f.getLong("glm4moe.expert_gating_func", -1)).isEqualTo(2);
            assertThat(f.getLong("glm4moe.expert_group_count", -1)).isEqualTo(2);
            assertThat(f.getLong("glm4moe.leading_dense_block_count", -1)).isEqualTo(1);
            assertThat(f.getLong("glm4moe.rope.dimension_count", -1)).isEqualTo(16);
            // llama.cpp's own converter keeps the multi-token-prediction layer: counted in block_count, named by
            // nextn_predict_layers, its tensors (a whole layer plus nextn.*) after the last; such a file runs the same model
            java.util.Map<String, Object> md = new java.util.LinkedHashMap<>(f.metadata());
            md.put("glm4moe.block_count", 4);
            md.put("glm4moe.nextn_predict_layers", 1);
            java.util.List<org.redhare.model.gguf.GgufWriter.Tensor> withMtp = new java.util.ArrayList<>();
            for (org.redhare.model.gguf.GgufTensorInfo t : f.tensors()) {
                withMtp.add(FixtureTest.copy(f, t, t.name()));
                if (t.name().startsWith("blk.2.")) { // the MTP layer: a copy of the last one, which must not run
                    withMtp.add(FixtureTest.copy(f, t, t.name().replace("blk.2.", "blk.3.")));
                }
            }
            withMtp.add(new org.redhare.model.gguf.GgufWriter.Tensor("blk.3.nextn.eh_proj.weight", new long[] {128, 64},
                    org.redhare.model.gguf.GgmlType.F32, seg -> seg.fill((byte) 0)));
            org.redhare.model.gguf.GgufWriter.write(tmp.resolve("mtp.gguf"), md, withMtp);
        }
        check(fixture("glm4-moe-tiny"), gguf);
        check(fixture("glm4-moe-tiny"), tmp.resolve("mtp.gguf"));
    }

    /**
     * Qwen2-MoE ({@code Qwen2MoeForCausalLM}, {@code scripts/reference/qwen2_moe_reference.py}): q/k/v biases, every layer
     * softmax-routed experts without renormalization beside a shared expert scaled by its sigmoid gate; from the
     * safetensors, and converted to GGUF as llama.cpp's qwen2moe (the gate as ffn_gate_inp_shexp, the shared expert as
     * ffn_*_shexp with its own expert_shared_feed_forward_length).
     */
    @Test
    void qwen2MoeMatchesTheReferenceFromSafetensorsAndGguf(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path dir = fixture("qwen2-moe-tiny");
        check(dir, dir);
        Path gguf = toGguf(dir, tmp);
        try (org.redhare.model.gguf.GgufFile f = org.redhare.model.gguf.GgufFile.open(gguf)) {
            assertThat(f.getString("general.architecture", null)).isEqualTo("qwen2moe");
            assertThat(f.getLong("qwen2moe.expert_shared_feed_forward_length", -1)).isEqualTo(64);
            assertThat(f.getLong("qwen2moe.expert_feed_forward_length", -1)).isEqualTo(32);
            assertThat(f.tensor("blk.2.ffn_gate_inp_shexp.weight").type()).isEqualTo(org.redhare.model.gguf.GgmlType.F32);
            assertThat(f.tensor("blk.2.ffn_down_shexp.weight").dims()).containsExactly(64, 64);
            assertThat(f.tensor("blk.2.ffn_down_exps.weight").dims()).containsExactly(32, 64, 8);
        }
        check(dir, gguf);
    }

    /**
     * Converted to GGUF as llama.cpp's converter lays glm4 out (the fused gate/up as one ffn_up, the block-output norms as
     * post_attention_norm and post_ffw_norm, adjacent RoPE pairs unpermuted, rope.dimension_count for the partial
     * rotation), the file reads back as the same model.
     */
    @Test
    void glm4ConvertedToGgufMatchesTheReference(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path gguf = toGguf(fixture(), tmp);
        try (org.redhare.model.gguf.GgufFile f = org.redhare.model.gguf.GgufFile.open(gguf)) {
            assertThat(f.getString("general.architecture", null)).isEqualTo("glm4");
            assertThat(f.tensor("blk.0.ffn_up.weight").dims()).containsExactly(64, 320);
            assertThat(f.tensor("blk.1.post_ffw_norm.weight")).isNotNull();
            assertThat(f.getLong("glm4.rope.dimension_count", -1)).isEqualTo(16);
        }
        check(fixture(), gguf);
    }

    /**
     * Gemma 3 ({@code Gemma3ForCausalLM}, {@code scripts/reference/gemma3_reference.py}): the scaled embedding, norms that
     * multiply by 1 + w, four norms a layer, q/k norms, scores scaled by query_pre_attn_scalar (24, not head_dim), GeGLU,
     * and three local layers of an 8-key sliding window with their own RoPE base beside a global one with linearly
     * scaled RoPE; the 23- and 61-token prompts reach far past the window.
     */
    @Test
    void gemma3MatchesTheReference() throws Exception {
        check(fixture("gemma3-tiny"), fixture("gemma3-tiny"));
    }

    /**
     * Converted to GGUF as llama.cpp's converter lays gemma3 out (norms stored as 1 + w, the block-output norms as
     * post_attention_norm and post_ffw_norm, the pre-feed-forward norm as ffn_norm, attention.sliding_window), with the
     * keys for what this model does differently from llama.cpp's fixed Gemma 3 values, the file reads back as the same model.
     */
    @Test
    void gemma3ConvertedToGgufMatchesTheReference(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path dir = fixture("gemma3-tiny");
        Path gguf = toGguf(dir, tmp);
        try (org.redhare.model.gguf.GgufFile f = org.redhare.model.gguf.GgufFile.open(gguf)) {
            assertThat(f.getString("general.architecture", null)).isEqualTo("gemma3");
            assertThat(f.tensor("blk.0.post_attention_norm.weight")).isNotNull();
            assertThat(f.tensor("blk.0.ffn_norm.weight")).isNotNull();
            assertThat(f.tensor("blk.3.post_ffw_norm.weight")).isNotNull();
            assertThat(f.getLong("gemma3.attention.sliding_window", -1)).isEqualTo(8);
            assertThat(f.getLong("gemma3.attention.sliding_window_pattern", -1)).isEqualTo(3);
            assertThat(f.tensor("output.weight")).isNull(); // tied
        }
        check(dir, gguf);
    }

    /**
     * Gemma 2 ({@code Gemma2ForCausalLM}, {@code scripts/reference/gemma2_reference.py}): no q/k norms, every other layer
     * local (the default pattern: no layer_types in its config) with one RoPE for all, attention scores soft-capped at 2
     * and logits at 3 (small caps, so both change the numbers). Converted to GGUF as llama.cpp lays gemma2 out (its soft
     * caps as attn_logit_softcapping / final_logit_softcapping) it reads back as the same model.
     */
    @Test
    void gemma2MatchesTheReferenceFromSafetensorsAndGguf(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path dir = fixture("gemma2-tiny");
        check(dir, dir);
        Path gguf = toGguf(dir, tmp);
        try (org.redhare.model.gguf.GgufFile f = org.redhare.model.gguf.GgufFile.open(gguf)) {
            assertThat(f.getString("general.architecture", null)).isEqualTo("gemma2");
            assertThat(f.getFloat("gemma2.final_logit_softcapping", 0)).isEqualTo(3f);
            assertThat(f.getFloat("gemma2.attn_logit_softcapping", 0)).isEqualTo(2f);
            assertThat(f.tensor("blk.0.attn_q_norm.weight")).isNull();
        }
        check(dir, gguf);
    }

    /**
     * The same Gemma 3 laid out as the 4B, 12B and 27B checkpoints are ({@code Gemma3ForConditionalGeneration}): the text
     * model's config under {@code text_config} with only the keys that differ from transformers' defaults beside a vision
     * config, its tensors under {@code language_model.model.}, a vision tower's tensors beside them. It runs as the text model.
     */
    @Test
    void gemma3InItsMultimodalLayoutRunsItsLanguageModel(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path src = fixture("gemma3-tiny");
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var text = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(src.resolve("config.json").toFile());
        for (String k : new String[] {"architectures", "eos_token_id", "bos_token_id", "pad_token_id", "torch_dtype", "rope_theta",
                "rms_norm_eps", "rope_local_base_freq", "attn_logit_softcapping", "final_logit_softcapping", "tie_word_embeddings"}) {
            text.remove(k); // transformers' Gemma3TextConfig defaults (rope_theta 1e6, eps 1e-6, tied ...) or the top level's
        }
        var root = json.createObjectNode();
        root.putArray("architectures").add("Gemma3ForConditionalGeneration");
        root.put("model_type", "gemma3");
        root.set("text_config", text);
        root.putObject("vision_config").put("model_type", "siglip_vision_model").put("hidden_size", 16);
        root.putArray("eos_token_id").add(1).add(106);
        root.put("torch_dtype", "bfloat16");
        Files.writeString(tmp.resolve("config.json"), root.toPrettyString());
        List<org.redhare.model.safetensors.SafetensorsWriter.Entry> entries = new ArrayList<>();
        try (var c = org.redhare.model.safetensors.SafetensorsCheckpoint.open(src)) {
            for (String name : c.names()) {
                TensorRef t = c.tensor(name);
                byte[] bytes = t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                entries.add(new org.redhare.model.safetensors.SafetensorsWriter.Entry("language_model." + name, t.dtype(), t.shape(),
                        (buf, off) -> buf.put(bytes, (int) off, buf.remaining())));
            }
        }
        entries.add(new org.redhare.model.safetensors.SafetensorsWriter.Entry("vision_tower.vision_model.embeddings.patch_embedding.weight",
                org.redhare.core.DType.F32, new long[] {16, 3}, (buf, off) -> { while (buf.hasRemaining()) buf.put((byte) 0x7f); }));
        org.redhare.model.safetensors.SafetensorsWriter.write(tmp.resolve("model.safetensors"), entries, Map.of("format", "pt"), null);
        ModelConfig config = ModelConfig.load(tmp);
        assertThat(config.numHeads()).isEqualTo(4);
        assertThat(config.ropeTheta()).isEqualTo(1e6);
        assertThat(config.eosTokenIds()).containsExactly(1, 106);
        check(src, tmp);
    }

    /** The fixture's weights as one GGUF file under {@code tmp}, as llama.cpp's converter lays its architecture out. */
    static Path toGguf(Path dir, Path tmp) throws Exception {
        return FixtureTest.toGguf(dir, tmp.resolve(dir.getFileName() + ".gguf"));
    }

    static void check(Path fixtureDir, Path modelPath) throws Exception {
        try (Parallel pool = new Parallel(2)) { // its own: FixtureTest closes its pool when its class is done
            FixtureTest.check(fixtureDir, modelPath, 2e-3, fixtureDir.getFileName().toString(), pool);
        }
    }
}
