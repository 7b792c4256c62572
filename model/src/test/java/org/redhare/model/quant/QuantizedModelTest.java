package org.redhare.model.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.LoadOptions;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.ModelLoader;
import org.redhare.model.TensorRef;
import org.redhare.model.gguf.GgmlType;
import org.redhare.model.gguf.GgufWriter;
import org.redhare.model.safetensors.SafetensorsCheckpoint;
import org.redhare.model.synth.SyntheticModel;

/**
 * Online quantization at load and GGUF Q8_0/Q4_0 files made from a synthetic model: all run, stay close to
 * the float model, and a GGUF file gives bitwise the logits of the same quantization done at load.
 */
class QuantizedModelTest {
    private static final int[] PROMPT = {1, 17, 300, 42, 9, 256, 5};
    @TempDir
    static Path tmp;
    static Path synth;
    static Parallel pool;

    @BeforeAll
    static void writeSynth() throws IOException {
        synth = tmp.resolve("tiny-qwen2");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2"), DType.F32, synth, 3, (d, t) -> {});
        pool = new Parallel(2);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    static float[] logits(Path model, LoadOptions options) {
        try (CausalLM m = ModelLoader.load(model, pool, options); PagedKvCache cache = m.kvLayout().allocate(2, 16, KvDtype.F32)) {
            float[] out = new float[PROMPT.length * m.vocabSize()];
            m.forward(ForwardBatch.ofSequence(PROMPT, 0, new int[] {0, 1}, true), cache, out);
            return out;
        }
    }

    static double relativeError(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - b[i]) * (double) (a[i] - b[i]);
            den += b[i] * (double) b[i];
        }
        return Math.sqrt(num / den);
    }

    @ParameterizedTest
    @CsvSource({"fp8, 0.08", "q8_0, 0.03", "q4_0, 0.3", "q4_k, 0.2", "q6_k, 0.03"})
    void onlineQuantizationStaysCloseToTheFloatModel(String q, double tolerance) {
        List<String> log = new ArrayList<>();
        long[] last = {0, -1};
        LoadOptions opts = new LoadOptions(Quantization.parse(q), (d, t) -> { last[0] = d; last[1] = t; }, log::add);
        float[] ref = logits(synth, LoadOptions.DEFAULT);
        float[] got = logits(synth, opts);
        assertThat(relativeError(got, ref)).as("relative logit error of %s", q).isLessThan(tolerance).isGreaterThan(0);
        assertThat(log).anySatisfy(l -> assertThat(l).contains("quantizing").contains(q).contains("embedding table stays as stored"));
        assertThat(last[0]).as("progress reaches the total").isEqualTo(last[1]).isPositive();
    }

    /** Every float fixture family (dense, MoE with router gates and shared experts) runs quantized, close to itself. */
    @ParameterizedTest
    @CsvSource({"llama-tiny, fp8", "qwen2-tiny, q8_0", "qwen3-tiny, q4_0", "mixtral-tiny, q8_0", "qwen3-moe-tiny, fp8", "qwen3-moe-tiny, q4_0"})
    void fixtureFamiliesRunQuantized(String fixture, String q) {
        Path dir = org.redhare.core.testing.SharedFiles.require("fixtures/" + fixture);
        float[] ref = logits(dir, LoadOptions.DEFAULT);
        float[] got = logits(dir, LoadOptions.DEFAULT.withQuantize(Quantization.parse(q)));
        double tolerance = q.equals("q4_0") ? 0.4 : 0.1;
        assertThat(relativeError(got, ref)).as("%s %s", fixture, q).isLessThan(tolerance).isGreaterThan(0);
    }

    /**
     * Quantizing at load holds each result only until it is taken (the matrix repacks it; a model's second copy of every
     * quantized weight was kept before), answers {@code contains} without quantizing, and describes each tensor
     * ({@code info}: type, shape, bytes, for the model summary) exactly as what it then hands out.
     */
    @ParameterizedTest
    @CsvSource({"fp8", "q8_0", "q4_k"})
    void quantizingAtLoadDescribesWithoutQuantizingAndHandsEachTensorOutOnce(String q) {
        long[] updates = {0};
        Quantization quant = Quantization.parse(q);
        try (QuantizingCheckpoint c = new QuantizingCheckpoint(SafetensorsCheckpoint.open(synth), quant, true,
                new LoadOptions(quant, (d, t) -> updates[0]++, s -> {}))) { // closes the checkpoint it wraps
            List<String> names = List.copyOf(c.names());
            assertThat(names).contains("lm_head.weight"); // the tied head's quantized copy
            for (String n : names) {
                assertThat(c.contains(n)).as(n).isTrue();
                c.info(n);
            }
            assertThat(updates[0]).as("progress updates (quantizations) from contains and info").isZero();
            for (String n : names) {
                TensorRef.Info expected = c.info(n);
                TensorRef t = c.tensor(n);
                assertThat(t.dtype()).as(n).isEqualTo(expected.dtype());
                assertThat(t.shape()).as(n).isEqualTo(expected.shape());
                assertThat(t.data().byteSize()).as(n).isEqualTo(expected.bytes());
            }
            String weight = "model.layers.0.mlp.down_proj.weight";
            TensorRef again = c.tensor(weight);
            assertThat(again.dtype()).isEqualTo(c.info(weight).dtype()); // quantized again, the same bytes
            assertThat(again.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                    .isEqualTo(c.tensor(weight).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    @ParameterizedTest
    @CsvSource({"q8_0", "q4_0", "q4_k", "q6_k"}) // q4_k, q6_k: the tiny shape's 64- and 128-wide rows all fall back to Q5_0, Q8_0
    void ggufMadeFromASynthModelRunsAsTheSameQuantizationAtLoad(String q) throws IOException {
        Path gguf = tmp.resolve("tiny-" + q + ".gguf");
        Quantization quant = Quantization.parse(q);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(synth)) {
            GgufWriter.convert(c, ModelConfig.load(synth), quant, gguf, (d, t) -> {});
        }
        float[] fromFile = logits(gguf, LoadOptions.DEFAULT);
        float[] atLoad = logits(synth, LoadOptions.DEFAULT.withQuantize(quant));
        assertThat(fromFile).isEqualTo(atLoad);
    }

    /**
     * A mixture's experts quantized into GGUF (stacked per layer and kind, each expert's rows quantized as at load) run as the
     * same quantization at load, for Mixtral's names (a llama file with experts) and Qwen3-MoE's.
     */
    @ParameterizedTest
    @CsvSource({"mixtral-tiny, q8_0", "qwen3-moe-tiny, q4_0"})
    void mixturesQuantizedIntoGgufRunAsTheSameQuantizationAtLoad(String fixture, String q) throws IOException {
        Path dir = org.redhare.core.testing.SharedFiles.require("fixtures/" + fixture);
        Path gguf = tmp.resolve(fixture + "-" + q + ".gguf");
        Quantization quant = Quantization.parse(q);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            GgufWriter.convert(c, ModelConfig.load(dir), quant, gguf, (d, t) -> {});
        }
        try (org.redhare.model.gguf.GgufFile f = org.redhare.model.gguf.GgufFile.open(gguf)) {
            assertThat(f.tensor("blk.0.ffn_up_exps.weight").type().name()).isEqualTo(q.toUpperCase(java.util.Locale.ROOT));
        }
        float[] fromFile = logits(gguf, LoadOptions.DEFAULT);
        float[] atLoad = logits(dir, LoadOptions.DEFAULT.withQuantize(quant));
        // the same quantized experts; only the routers differ in rounding (F32 in the file, as llama.cpp writes them;
        // BF16 rows at load): measured 3e-7 and 9e-8, against 1e-2 to 1e-1 for any quantization's own error
        assertThat(relativeError(fromFile, atLoad)).as("%s %s", fixture, q).isLessThan(1e-5);
    }

    /** What online quantization leaves as stored: the embedding, routers and gates, and DeepSeek's kv_b_proj (widened to floats at load anyway). */
    @Test
    void quantizationKeepsEmbeddingsRoutersAndTheLatentExpansion() {
        java.util.function.Function<String, TensorRef> matrix = n -> new TensorRef(n, DType.BF16, new long[] {64, 64},
                java.lang.foreign.MemorySegment.ofArray(new short[64 * 64]), Path.of("x"));
        for (String kept : List.of("model.embed_tokens.weight", "model.layers.1.mlp.gate.weight", "model.layers.1.mlp.shared_expert_gate.weight",
                "model.layers.0.self_attn.kv_b_proj.weight")) {
            assertThat(QuantizingCheckpoint.quantizes(matrix.apply(kept), Quantization.Q8_0)).as(kept).isFalse();
        }
        for (String quantized : List.of("model.layers.0.self_attn.q_b_proj.weight", "model.layers.0.self_attn.kv_a_proj_with_mqa.weight",
                "model.layers.1.mlp.shared_expert.gate_proj.weight", "lm_head.weight")) {
            assertThat(QuantizingCheckpoint.quantizes(matrix.apply(quantized), Quantization.Q8_0)).as(quantized).isTrue();
        }
    }

    /**
     * Both DeepSeek forms written to GGUF in their own float type (BF16) run as the safetensors do: V3's
     * (q LoRA, sigmoid routing with its bias and groups) and V2-Lite's (a plain q projection, softmax routing, no
     * renormalization, YaRN mscale 0.707), which the reader tells apart by the gating function. The reader puts kv_b_proj
     * back together from llama.cpp's attn_k_b/attn_v_b in F32, exactly the BF16 values; the rest are the same tensors but
     * the routers.
     */
    @ParameterizedTest
    @ValueSource(strings = {"deepseek-v3-tiny", "deepseek-v2-lite-tiny"})
    void deepseekFormsRunTheSameThroughGguf(String shape) throws IOException {
        Path dir = tmp.resolve(shape);
        SyntheticModel.write(SyntheticModel.deepseekShape(shape), DType.BF16, dir, 7, (d, t) -> {});
        Path gguf = tmp.resolve(shape + ".gguf");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            GgufWriter.convert(c, ModelConfig.load(dir), Quantization.NONE, gguf, (d, t) -> {});
        }
        boolean v2 = shape.contains("v2");
        try (org.redhare.model.gguf.GgufFile f = org.redhare.model.gguf.GgufFile.open(gguf)) {
            assertThat(f.getLong("deepseek2.expert_gating_func", -1)).isEqualTo(v2 ? 1 : 2);
            assertThat(f.tensor("blk.0.attn_q.weight") != null).isEqualTo(v2);
            assertThat(f.tensor("blk.1.exp_probs_b.bias") != null).isEqualTo(!v2);
            assertThat(f.tensor("blk.0.attn_k_b.weight").type()).isEqualTo(GgmlType.BF16);
        }
        try (CausalLM m = ModelLoader.load(gguf, pool)) {
            assertThat(m.config().architecture()).isEqualTo(v2 ? "DeepseekV2ForCausalLM" : "DeepseekV3ForCausalLM");
        }
        // the same weights but the routers, F32 in the file (as llama.cpp writes them) against BF16: a rounding apart
        assertThat(relativeError(logits(gguf, LoadOptions.DEFAULT), logits(dir, LoadOptions.DEFAULT))).as(shape).isLessThan(1e-5);
    }

    /**
     * Q4_K and Q6_K need rows a multiple of 256 long, so they run on a small qwen2 shape with 256-wide hidden and
     * 512-wide FFN: at load, close to the float model (every linear matrix quantized, the embedding kept), and written
     * to GGUF, bit for bit the logits of the same quantization at load.
     */
    @ParameterizedTest
    @CsvSource({"q4_k, 0.3", "q6_k, 0.08"})
    void superBlockQuantizationsRunAtLoadAndThroughGguf(String q, double tolerance) throws IOException {
        Path wide = tmp.resolve("wide-qwen2");
        SyntheticModel.write(new SyntheticModel.Shape("wide", "qwen2", 256, 2, 4, 2, 64, 512, 512, true, 1e4, 512, 1e-6, false),
                DType.F32, wide, 5, (d, t) -> {});
        Quantization quant = Quantization.parse(q);
        List<String> log = new ArrayList<>();
        float[] ref = logits(wide, LoadOptions.DEFAULT);
        float[] atLoad = logits(wide, new LoadOptions(quant, (d, t) -> {}, log::add));
        assertThat(relativeError(atLoad, ref)).as("relative logit error of %s", q).isLessThan(tolerance).isGreaterThan(0);
        assertThat(log).anySatisfy(l -> assertThat(l).contains("quantizing 15 linear weight matrices to " + q));
        Path gguf = tmp.resolve("wide-" + q + ".gguf");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(wide)) {
            GgufWriter.convert(c, ModelConfig.load(wide), quant, gguf, (d, t) -> {});
        }
        assertThat(logits(gguf, LoadOptions.DEFAULT)).isEqualTo(atLoad);
    }

    /**
     * deepseek2 files without expert_gating_func route as llama.cpp reads them: softmax (DeepSeek-V2/V2.5's files), or
     * sigmoid with V3's selection for GLM-4.7-Flash's shape (47 or 48 layers, 154880 tokens); the key, where present, wins.
     */
    @ParameterizedTest
    @CsvSource({"27, 102400, -1, softmax", "47, 154880, -1, sigmoid", "48, 154880, -1, sigmoid", "47, 154880, 1, softmax",
            "27, 102400, 2, sigmoid"})
    void deepseek2GatingWhereTheFileDoesNotSay(int layers, int vocab, int gating, String scoring) throws IOException {
        Map<String, Object> md = new java.util.LinkedHashMap<>(Map.of("general.architecture", "deepseek2", "deepseek2.block_count", layers,
                "deepseek2.vocab_size", vocab, "deepseek2.embedding_length", 64, "deepseek2.attention.head_count", 4,
                "deepseek2.attention.kv_lora_rank", 32, "deepseek2.rope.dimension_count", 8, "deepseek2.attention.key_length", 24,
                "deepseek2.attention.value_length", 16, "deepseek2.feed_forward_length", 128));
        md.putAll(Map.of("deepseek2.expert_count", 8, "deepseek2.expert_used_count", 2, "deepseek2.expert_feed_forward_length", 32));
        if (gating > 0) {
            md.put("deepseek2.expert_gating_func", gating);
        }
        Path file = tmp.resolve("gating-" + layers + "-" + gating + ".gguf");
        GgufWriter.write(file, md, List.of());
        try (var c = org.redhare.model.gguf.GgufCheckpoint.open(file)) {
            var raw = c.config().raw();
            assertThat(raw.path("scoring_func").asText()).isEqualTo(scoring);
            assertThat(raw.path("topk_method").asText()).isEqualTo(scoring.equals("sigmoid") ? "noaux_tc" : "greedy");
            assertThat(raw.path("architectures").get(0).asText()).isEqualTo(scoring.equals("sigmoid") ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM");
            assertThat(raw.path("qk_nope_head_dim").asInt()).isEqualTo(16);
            assertThat(raw.path("q_lora_rank").isNull()).isTrue();
        }
    }

    @Test
    void unsupportedGgufTypeAndOutOfBoundsDataAreClearErrors() throws IOException {
        Map<String, Object> md = Map.of("general.architecture", "qwen2");
        Path q5 = tmp.resolve("q5.gguf");
        GgufWriter.write(q5, md, List.of(new GgufWriter.Tensor("blk.0.attn_q.weight", new long[] {256, 2}, GgmlType.IQ2_XXS, s -> {})));
        assertThatThrownBy(() -> ModelLoader.load(q5, pool)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("blk.0.attn_q.weight").hasMessageContaining("IQ2_XXS");
        Path cut = tmp.resolve("cut.gguf");
        GgufWriter.write(cut, md, List.of(new GgufWriter.Tensor("blk.0.attn_q.weight", new long[] {64, 64}, GgmlType.Q8_0, s -> {})));
        try (FileChannel ch = FileChannel.open(cut, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);
        }
        assertThatThrownBy(() -> ModelLoader.load(cut, pool)).hasMessageContaining("blk.0.attn_q.weight");
        Path other = tmp.resolve("rwkv7.gguf");
        GgufWriter.write(other, Map.of("general.architecture", "rwkv7"), List.of(new GgufWriter.Tensor("token_embd.weight", new long[] {64, 8},
                GgmlType.F32, s -> {})));
        assertThatThrownBy(() -> ModelLoader.load(other, pool)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("GGUF architecture 'rwkv7' is not supported").hasMessageContaining("qwen3moe").hasMessageContaining("deepseek2")
                .hasMessageContaining("original safetensors");
    }

    /**
     * The fallback types llama.cpp writes into K-quant files where rows are not a multiple of 256 long (Q5_0 for
     * Q4_K, Q5_1 for Q5_K, IQ4_NL for IQ4_XS; Q5_0 as in Qwen2.5-0.5B's 896-wide matrices) and Q4_1 load from a GGUF
     * file with ggml's values.
     */
    @ParameterizedTest
    @CsvSource({"Q5_0", "Q4_1", "Q5_1", "IQ4_NL"})
    void ggufFallbackTypesLoadWithGgmlValues(String type) throws IOException {
        GgmlType t = GgmlType.valueOf(type);
        Path file = tmp.resolve(type + ".gguf");
        int rows = 3, cols = 64;
        byte[] blocks = new byte[rows * cols / 32 * t.bytesPerBlock()];
        new java.util.Random(5).nextBytes(blocks);
        float[] expected = new float[rows * cols];
        for (int b = 0; b < rows * cols / 32; b++) {
            int o = b * t.bytesPerBlock();
            short dh = Float.floatToFloat16(0.01f * (b + 1));
            blocks[o] = (byte) dh;
            blocks[o + 1] = (byte) (dh >> 8);
            float d = Float.float16ToFloat(dh);
            if (t == GgmlType.IQ4_NL) {
                int[] levels = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
                for (int j = 0; j < 16; j++) {
                    int v = blocks[o + 2 + j] & 0xFF;
                    expected[b * 32 + j] = d * levels[v & 0xF];
                    expected[b * 32 + 16 + j] = d * levels[v >>> 4];
                }
            } else if (t == GgmlType.Q5_1) {
                short mh = Float.floatToFloat16(-0.05f * (b + 1));
                blocks[o + 2] = (byte) mh;
                blocks[o + 3] = (byte) (mh >> 8);
                float m = Float.float16ToFloat(mh);
                int qh = (blocks[o + 4] & 0xFF) | (blocks[o + 5] & 0xFF) << 8 | (blocks[o + 6] & 0xFF) << 16 | (blocks[o + 7] & 0xFF) << 24;
                for (int j = 0; j < 16; j++) {
                    int v = blocks[o + 8 + j] & 0xFF;
                    expected[b * 32 + j] = (v & 0xF | (qh >>> j & 1) << 4) * d + m;
                    expected[b * 32 + 16 + j] = (v >>> 4 | (qh >>> (j + 16) & 1) << 4) * d + m;
                }
            } else if (t == GgmlType.Q4_1) {
                short mh = Float.floatToFloat16(-0.05f * (b + 1));
                blocks[o + 2] = (byte) mh;
                blocks[o + 3] = (byte) (mh >> 8);
                float m = Float.float16ToFloat(mh);
                for (int j = 0; j < 16; j++) {
                    int v = blocks[o + 4 + j] & 0xFF;
                    expected[b * 32 + j] = (v & 0xF) * d + m;
                    expected[b * 32 + 16 + j] = (v >>> 4) * d + m;
                }
            } else {
                int qh = (blocks[o + 2] & 0xFF) | (blocks[o + 3] & 0xFF) << 8 | (blocks[o + 4] & 0xFF) << 16 | (blocks[o + 5] & 0xFF) << 24;
                for (int j = 0; j < 16; j++) {
                    int v = blocks[o + 6 + j] & 0xFF;
                    expected[b * 32 + j] = ((v & 0xF | (qh >>> j & 1) << 4) - 16) * d;
                    expected[b * 32 + 16 + j] = ((v >>> 4 | (qh >>> (j + 16) & 1) << 4) - 16) * d;
                }
            }
        }
        GgufWriter.write(file, Map.of("general.architecture", "qwen2"), List.of(new GgufWriter.Tensor("blk.0.attn_q.weight",
                new long[] {cols, rows}, t, seg -> java.lang.foreign.MemorySegment.copy(blocks, 0, seg, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, blocks.length))));
        try (org.redhare.model.gguf.GgufCheckpoint c = org.redhare.model.gguf.GgufCheckpoint.open(file)) {
            org.redhare.core.matrix.WeightMatrix m = new org.redhare.model.Weights(c).matrix("model.layers.0.self_attn.q_proj.weight", rows, cols);
            assertThat(m.dtype()).isEqualTo(DType.valueOf(type));
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                m.row(r, row, 0);
                for (int i = 0; i < cols; i++) {
                    assertThat(row[i]).as("%s [%d, %d]", type, r, i).isCloseTo(expected[r * cols + i], org.assertj.core.data.Offset.offset(1e-6f));
                }
            }
        }
    }

    /** Q5_K_M files: Q5_K super-blocks load through the GGUF reader with ggml's values (first sub-block checked here; the kernels in core's tests). */
    @Test
    void q5kTensorsLoadWithGgmlValues() throws IOException {
        Path file = tmp.resolve("q5k.gguf");
        int rows = 2, cols = 256;
        byte[] blocks = new byte[rows * 176];
        new java.util.Random(6).nextBytes(blocks);
        for (int b = 0; b < rows; b++) {
            short dh = Float.floatToFloat16(1e-3f * (b + 1));
            short mh = Float.floatToFloat16(2e-3f);
            blocks[b * 176] = (byte) dh;
            blocks[b * 176 + 1] = (byte) (dh >> 8);
            blocks[b * 176 + 2] = (byte) mh;
            blocks[b * 176 + 3] = (byte) (mh >> 8);
        }
        GgufWriter.write(file, Map.of("general.architecture", "qwen2"), List.of(new GgufWriter.Tensor("blk.0.ffn_up.weight",
                new long[] {cols, rows}, GgmlType.Q5_K, seg -> java.lang.foreign.MemorySegment.copy(blocks, 0, seg, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, blocks.length))));
        try (org.redhare.model.gguf.GgufCheckpoint c = org.redhare.model.gguf.GgufCheckpoint.open(file)) {
            org.redhare.core.matrix.WeightMatrix m = new org.redhare.model.Weights(c).matrix("model.layers.0.mlp.up_proj.weight", rows, cols);
            assertThat(m.dtype()).isEqualTo(DType.Q5_K);
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                m.row(r, row, 0);
                int o = r * 176;
                float d = Float.float16ToFloat((short) ((blocks[o] & 0xFF) | blocks[o + 1] << 8));
                float dmin = Float.float16ToFloat((short) ((blocks[o + 2] & 0xFF) | blocks[o + 3] << 8));
                int sc = blocks[o + 4] & 63, mn = blocks[o + 8] & 63; // sub-block 0
                for (int l = 0; l < 32; l++) {
                    int q = (blocks[o + 48 + l] & 0xF) + ((blocks[o + 16 + l] & 1) != 0 ? 16 : 0);
                    assertThat(row[l]).as("Q5_K [%d, %d]", r, l).isCloseTo(d * sc * q - dmin * mn, org.assertj.core.data.Offset.offset(1e-6f));
                }
            }
        }
    }

    @Test
    void fp8OnAnFp8CheckpointQuantizesOnlyTheLmHeadItKeepsInBf16() throws IOException {
        Path fp8 = tmp.resolve("tiny-fp8-head");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2"), DType.F8_E4M3, fp8, 3, (d, t) -> {});
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(fp8)) {
            assertThat(c.tensor("lm_head.weight").dtype()).as("the checkpoint keeps its LM head in BF16").isEqualTo(DType.BF16);
        }
        List<String> log = new ArrayList<>();
        float[] asStored = logits(fp8, LoadOptions.DEFAULT);
        float[] headFp8 = logits(fp8, new LoadOptions(Quantization.FP8, (d, t) -> {}, log::add));
        assertThat(log).anySatisfy(l -> assertThat(l).contains("quantizing 1 linear weight matrices to"));
        assertThat(headFp8).isNotEqualTo(asStored);
        assertThat(relativeError(headFp8, asStored)).isLessThan(0.08);
    }

    @Test
    void quantizingAnAlreadyQuantizedCheckpointIsRefused() throws IOException {
        Path fp8 = tmp.resolve("tiny-fp8");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2"), DType.F8_E4M3, fp8, 3, (d, t) -> {});
        assertThatThrownBy(() -> ModelLoader.load(fp8, pool, LoadOptions.DEFAULT.withQuantize(Quantization.Q8_0)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("already quantized");
        assertThatThrownBy(() -> ModelLoader.load(fp8, pool, LoadOptions.DEFAULT.withQuantize(Quantization.Q4_0)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("--quantize fp8 quantizes only the weights it keeps in BF16");
    }

    /**
     * Quantization spreads each matrix over the threads (ranges of rows, bands of 128 rows for FP8); the bytes must not
     * depend on how many. On a model whose matrices span several ranges (a 4096-token head of 64 columns: four ranges;
     * 1152-wide MLP: nine FP8 bands): GGUF files and FP8 checkpoints written on one and on three threads are identical,
     * and quantizing at load hands out the same bytes with a pool as without one.
     */
    @ParameterizedTest
    @CsvSource({"q8_0", "q4_k", "fp8"})
    void quantizedBytesDoNotDependOnTheThreads(String q) throws IOException {
        Path dir = tmp.resolve("wide-qwen2");
        if (!Files.exists(dir)) {
            SyntheticModel.write(new SyntheticModel.Shape("wide", "qwen2", 64, 1, 4, 2, 16, 1152, 4096, false, 1e4, 512, 1e-5, false),
                    DType.BF16, dir, 5, (d, t) -> {});
        }
        Quantization quant = Quantization.parse(q);
        if (quant == Quantization.FP8) {
            Fp8CheckpointWriter.write(dir, tmp.resolve("fp8-one"), (d, t) -> {}, 1);
            Fp8CheckpointWriter.write(dir, tmp.resolve("fp8-three"), (d, t) -> {}, 3);
            assertThat(Files.mismatch(tmp.resolve("fp8-one/model.safetensors"), tmp.resolve("fp8-three/model.safetensors"))).isEqualTo(-1);
        } else {
            Path one = tmp.resolve("wide-one-" + q + ".gguf");
            Path three = tmp.resolve("wide-three-" + q + ".gguf");
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
                GgufWriter.convert(c, ModelConfig.load(dir), quant, java.util.Map.of(), one, (d, t) -> {}, 1);
                GgufWriter.convert(c, ModelConfig.load(dir), quant, java.util.Map.of(), three, (d, t) -> {}, 3);
            }
            assertThat(Files.mismatch(one, three)).isEqualTo(-1);
        }
        LoadOptions options = new LoadOptions(quant, (d, t) -> {}, s -> {});
        try (Parallel three = new Parallel(3);
                QuantizingCheckpoint alone = new QuantizingCheckpoint(SafetensorsCheckpoint.open(dir), quant, false, options);
                QuantizingCheckpoint pooled = new QuantizingCheckpoint(SafetensorsCheckpoint.open(dir), quant, false, options, three)) {
            for (String n : alone.names()) {
                assertThat(pooled.tensor(n).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).as(n)
                        .isEqualTo(alone.tensor(n).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
        }
    }
}
