package org.redhare.model.quant;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.TensorRef;
import org.redhare.model.safetensors.SafetensorsCheckpoint;
import org.redhare.model.safetensors.SafetensorsWriter;

/**
 * Writes an FP8 copy of a BF16/F16/F32 Hugging Face checkpoint in the layout DeepSeek-V3 and
 * Qwen3-FP8 publish, so any FP8 loader reads it: every linear weight of the decoder layers becomes
 * {@code F8_E4M3} codes plus {@code <name>_scale_inv} (F32, {@code [ceil(rows/128), ceil(cols/128)]}),
 * with {@code scale = amax(block) / 448}, {@code code = e4m3(w / scale)} rounded to nearest even and
 * saturating; embeddings, norms, biases, routers and the LM head are copied unchanged.
 * {@code config.json} gains {@code quantization_config} ({@code quant_method: fp8}, {@code fmt: e4m3},
 * {@code weight_block_size: [128, 128]}); tokenizer and generation files are copied.
 */
public final class Fp8CheckpointWriter {
    public static final int BLOCK = 128;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Fp8CheckpointWriter() {}

    /** True for the tensors FP8 checkpoints quantize: 2-D linear weights inside decoder layers, except routers. */
    public static boolean quantizable(TensorRef t) {
        String n = t.name();
        return t.shape().length == 2 && n.startsWith("model.layers.") && n.endsWith(".weight") && !n.contains("norm")
                && !n.endsWith("mlp.gate.weight") && !n.endsWith("shared_expert_gate.weight")
                && (t.dtype() == DType.BF16 || t.dtype() == DType.F16 || t.dtype() == DType.F32);
    }

    public static void write(Path in, Path out, BiConsumer<Long, Long> progress) throws IOException {
        write(in, out, progress, Runtime.getRuntime().availableProcessors());
    }

    /** {@link #write(Path, Path, BiConsumer)}, each matrix's scales and codes computed on {@code threads} threads (the same bytes). */
    public static void write(Path in, Path out, BiConsumer<Long, Long> progress, int threads) throws IOException {
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--out must differ from --model: quantize writes a new checkpoint");
        }
        ModelConfig config = ModelConfig.load(in);
        if (config.raw().path("quantization_config").isObject()) {
            throw new ModelLoadException(in + " is already quantized (" + config.raw().path("quantization_config").path("quant_method").asText()
                    + "); quantize a BF16, F16 or F32 checkpoint");
        }
        if (config.raw().has("text_config") || config.architecture().endsWith("ForConditionalGeneration")) {
            throw new ModelLoadException(in + " is a multimodal checkpoint (" + config.architecture() + "); quantize --to fp8 writes"
                    + " text models only. Run its language model in FP8 with --quantize fp8 at load, or write a GGUF (--to q8_0, q4_0, gguf)");
        }
        Files.createDirectories(out);
        try (Checkpoint ck = SafetensorsCheckpoint.open(in); Parallel pool = new Parallel(Math.max(1, threads))) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            for (String name : ck.names()) {
                TensorRef t = ck.tensor(name);
                if (quantizable(t)) {
                    int rows = t.dim(0);
                    int cols = t.dim(1);
                    float[] scales = blockScales(t, rows, cols, pool);
                    int sc = (cols + BLOCK - 1) / BLOCK;
                    entries.add(new SafetensorsWriter.Entry(name, DType.F8_E4M3, new long[] {rows, cols}, (buf, off) -> {
                        // each code depends on its weight and block scale only: ranges of the buffer over the threads
                        MemorySegment codes = MemorySegment.ofBuffer(buf);
                        pool.forRangeIfIdle(buf.remaining(), 1 << 16, (a, b, w) -> {
                            for (int j = a; j < b; j++) {
                                long i = off + j;
                                int r = (int) (i / cols);
                                int c = (int) (i % cols);
                                float s = scales[(r / BLOCK) * sc + c / BLOCK];
                                codes.set(ValueLayout.JAVA_BYTE, j, Numbers.floatToE4m3(s == 0 ? 0f : element(t, i) / s));
                            }
                        });
                        buf.position(buf.limit());
                    }));
                    entries.add(new SafetensorsWriter.Entry(name + "_scale_inv", DType.F32,
                            new long[] {(rows + BLOCK - 1) / BLOCK, sc}, (buf, off) -> {
                                for (long i = off / 4; buf.hasRemaining(); i++) {
                                    buf.putFloat(scales[(int) i]);
                                }
                            }));
                } else {
                    long[] shape = t.shape();
                    entries.add(new SafetensorsWriter.Entry(name, t.dtype(), shape, (buf, off) -> {
                        int len = buf.remaining();
                        MemorySegment.ofBuffer(buf).copyFrom(t.data().asSlice(off, len));
                        buf.position(len);
                    }));
                }
            }
            SafetensorsWriter.write(out.resolve("model.safetensors"), entries, Map.of("format", "pt", "quantized_by", "redhare quantize --to fp8"),
                    progress);
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = (ObjectNode) json.readTree(in.resolve("config.json").toFile());
        ObjectNode q = c.putObject("quantization_config");
        q.put("quant_method", "fp8");
        q.put("fmt", "e4m3");
        q.put("activation_scheme", "dynamic");
        q.putArray("weight_block_size").add(BLOCK).add(BLOCK);
        Files.writeString(out.resolve("config.json"), json.writeValueAsString(c));
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json",
                "tokenizer.model"}) {
            if (Files.isRegularFile(in.resolve(f))) {
                Files.copy(in.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** {@code amax / 448} of every 128x128 block, row-major over blocks; the bands of 128 rows over {@code pool}'s threads (null: this one). */
    static float[] blockScales(TensorRef t, int rows, int cols, Parallel pool) {
        int sr = (rows + BLOCK - 1) / BLOCK;
        int sc = (cols + BLOCK - 1) / BLOCK;
        float[] amax = new float[sr * sc];
        Parallel.RangeBody bands = (b0, b1, worker) -> { // a band's rows update only its own scales
            for (int r = b0 * BLOCK; r < Math.min(rows, b1 * BLOCK); r++) {
                long base = (long) r * cols;
                int rb = (r / BLOCK) * sc;
                for (int c = 0; c < cols; c++) {
                    float a = Math.abs(element(t, base + c));
                    int b = rb + c / BLOCK;
                    if (a > amax[b]) {
                        amax[b] = a;
                    }
                }
            }
        };
        Parallel.forRangeIfIdle(pool, sr, 1, bands);
        for (int i = 0; i < amax.length; i++) {
            amax[i] = amax[i] / 448f;
        }
        return amax;
    }

    private static float element(TensorRef t, long i) {
        return switch (t.dtype()) {
            case BF16 -> Numbers.bf16ToFloat(t.data().getAtIndex(I16, i));
            case F16 -> Float.float16ToFloat(t.data().getAtIndex(I16, i));
            case F32 -> t.data().getAtIndex(F32, i);
            default -> throw new IllegalStateException(t.dtype().toString());
        };
    }
}
