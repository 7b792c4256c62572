package org.redhare.model.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.LoadOptions;
import org.redhare.model.ModelLoadException;
import org.redhare.model.ModelLoader;
import org.redhare.model.TensorRef;
import org.redhare.model.safetensors.SafetensorsCheckpoint;
import org.redhare.model.safetensors.SafetensorsWriter;
import org.redhare.model.synth.SyntheticModel;

/**
 * FP8 checkpoints with per-channel and per-tensor scales, as compressed-tensors (llm-compressor) and
 * fbgemm_fp8 write them: each is compared with an F32 twin holding exactly the dequantized weights
 * {@code e4m3(code) * scale}, so a scale applied on the wrong axis or with the wrong granularity shows.
 */
class Fp8SchemesTest {
    private static final int[] PROMPT = {1, 17, 300, 42, 9, 256, 5};
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path tmp;
    static Path synth;
    static Parallel pool;

    @BeforeAll
    static void writeSynth() throws IOException {
        synth = tmp.resolve("tiny-qwen2");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2"), DType.F32, synth, 5, (d, t) -> {});
        pool = new Parallel(2);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    static float[] logits(Path model) {
        try (CausalLM m = ModelLoader.load(model, pool, LoadOptions.DEFAULT); PagedKvCache cache = m.kvLayout().allocate(2, 16, KvDtype.F32)) {
            float[] out = new float[PROMPT.length * m.vocabSize()];
            m.forward(ForwardBatch.ofSequence(PROMPT, 0, new int[] {0, 1}, true), cache, out);
            return out;
        }
    }

    /**
     * Writes {@code fp8Dir} (linear layer weights as E4M3 with {@code weight_scale} per channel or per tensor,
     * scales in {@code scaleType}) and {@code twinDir} (the same weights dequantized, F32).
     */
    static void quantize(boolean perChannel, DType scaleType, boolean scaleAs1d, Map<String, Object> quantConfig, Path fp8Dir, Path twinDir)
            throws IOException {
        List<SafetensorsWriter.Entry> fp8 = new ArrayList<>();
        List<SafetensorsWriter.Entry> twin = new ArrayList<>();
        try (SafetensorsCheckpoint src = SafetensorsCheckpoint.open(synth)) {
            for (String name : src.names()) {
                TensorRef t = src.find(name).orElseThrow();
                float[] w = t.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                boolean linear = name.startsWith("model.layers.") && name.endsWith("_proj.weight");
                if (!linear) {
                    fp8.add(floats(name, t.shape(), w));
                    twin.add(floats(name, t.shape(), w));
                    continue;
                }
                int rows = (int) t.shape()[0];
                int cols = (int) t.shape()[1];
                float[] scales = new float[perChannel ? rows : 1];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        int s = perChannel ? r : 0;
                        scales[s] = Math.max(scales[s], Math.abs(w[r * cols + c]) / 448f);
                    }
                }
                for (int i = 0; i < scales.length; i++) {
                    // the scale as stored: BF16 scales are rounded, and the dequantized twin must use the stored value
                    scales[i] = scaleType == DType.BF16 ? Numbers.bf16ToFloat(Numbers.floatToBf16(scales[i])) : scales[i];
                }
                byte[] codes = new byte[rows * cols];
                float[] deq = new float[rows * cols];
                for (int r = 0; r < rows; r++) {
                    float s = scales[perChannel ? r : 0];
                    for (int c = 0; c < cols; c++) {
                        codes[r * cols + c] = Numbers.floatToE4m3(Math.min(448f, Math.max(-448f, w[r * cols + c] / s)));
                        deq[r * cols + c] = Numbers.e4m3ToFloat(codes[r * cols + c]) * s;
                    }
                }
                fp8.add(new SafetensorsWriter.Entry(name, DType.F8_E4M3, t.shape(), (buf, off) -> buf.put(codes, (int) off, buf.remaining())));
                long[] scaleShape = perChannel ? (scaleAs1d ? new long[] {rows} : new long[] {rows, 1}) : new long[] {};
                fp8.add(scaleType == DType.BF16 ? bf16s(name + "_scale", scaleShape, scales) : floats(name + "_scale", scaleShape, scales));
                twin.add(floats(name, t.shape(), deq));
            }
        }
        Files.createDirectories(fp8Dir);
        Files.createDirectories(twinDir);
        SafetensorsWriter.write(fp8Dir.resolve("model.safetensors"), fp8, Map.of("format", "pt"), null);
        SafetensorsWriter.write(twinDir.resolve("model.safetensors"), twin, Map.of("format", "pt"), null);
        ObjectNode config = (ObjectNode) JSON.readTree(synth.resolve("config.json").toFile());
        Files.writeString(twinDir.resolve("config.json"), config.toPrettyString());
        config.set("quantization_config", JSON.valueToTree(quantConfig));
        Files.writeString(fp8Dir.resolve("config.json"), config.toPrettyString());
    }

    static SafetensorsWriter.Entry floats(String name, long[] shape, float[] v) {
        return new SafetensorsWriter.Entry(name, DType.F32, shape, (buf, off) -> {
            for (long i = off / 4; buf.hasRemaining(); i++) buf.putFloat(v[(int) i]);
        });
    }

    static SafetensorsWriter.Entry bf16s(String name, long[] shape, float[] v) {
        return new SafetensorsWriter.Entry(name, DType.BF16, shape, (buf, off) -> {
            for (long i = off / 2; buf.hasRemaining(); i++) buf.putShort(Numbers.floatToBf16(v[(int) i]));
        });
    }

    static Map<String, Object> compressedTensors(String strategy) {
        return Map.of("quant_method", "compressed-tensors", "format", "float-quantized", "ignore", List.of("lm_head"),
                "config_groups", Map.of("group_0", Map.of("targets", List.of("Linear"),
                        "weights", Map.of("num_bits", 8, "type", "float", "strategy", strategy, "symmetric", true, "dynamic", false),
                        "input_activations", Map.of("num_bits", 8, "type", "float", "strategy", "token", "dynamic", true))));
    }

    @ParameterizedTest(name = "{0}, {1} scales, 1-D: {2}")
    @CsvSource({"channel, BF16, false", "channel, F32, true", "tensor, F32, false", "fbgemm, F32, false"})
    void perChannelAndPerTensorFp8MatchTheirDequantizedTwin(String scheme, DType scaleType, boolean scaleAs1d) throws IOException {
        Path fp8 = tmp.resolve("fp8-" + scheme + "-" + scaleType + "-" + scaleAs1d);
        Path twin = tmp.resolve("twin-" + scheme + "-" + scaleType + "-" + scaleAs1d);
        Map<String, Object> config = scheme.equals("fbgemm")
                ? Map.of("quant_method", "fbgemm_fp8", "activation_scale_ub", 1200.0, "modules_to_not_convert", List.of("lm_head"))
                : compressedTensors(scheme);
        quantize(!scheme.equals("tensor"), scaleType, scaleAs1d, config, fp8, twin);
        float[] got = logits(fp8);
        float[] exact = logits(twin);
        float[] original = logits(synth);
        assertThat(QuantizedModelTest.relativeError(got, exact)).as("FP8 kernel vs its dequantized twin").isLessThan(1e-5);
        assertThat(QuantizedModelTest.relativeError(got, original)).as("quantization noise vs the float model").isGreaterThan(1e-4).isLessThan(0.1);
    }

    @Test
    void wrongScaleShapeAndUnsupportedSchemesAreClearErrors() throws IOException {
        Path fp8 = tmp.resolve("fp8-bad");
        Path twin = tmp.resolve("twin-bad");
        // per-tensor scales under a config that promises per-channel ones
        quantize(false, DType.F32, false, compressedTensors("channel"), fp8, twin);
        assertThatThrownBy(() -> logits(fp8)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("_proj.weight_scale").hasMessageContaining("one scale per output channel");

        ObjectNode config = (ObjectNode) JSON.readTree(fp8.resolve("config.json").toFile());
        config.set("quantization_config", JSON.valueToTree(Map.of("quant_method", "compressed-tensors", "format", "int-quantized",
                "config_groups", Map.of("g", Map.of("weights", Map.of("num_bits", 8, "type", "int", "strategy", "channel"))))));
        Files.writeString(fp8.resolve("config.json"), config.toPrettyString());
        assertThatThrownBy(() -> logits(fp8)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("8-bit int").hasMessageContaining("only 8-bit float");

        config.set("quantization_config", JSON.valueToTree(Map.of("quant_method", "awq", "bits", 4)));
        Files.writeString(fp8.resolve("config.json"), config.toPrettyString());
        assertThatThrownBy(() -> logits(fp8)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("'awq'").hasMessageContaining("compressed-tensors");
    }
}
