package org.redhare.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import org.redhare.core.DType;
import org.redhare.model.ModelConfig;
import org.redhare.model.gguf.GgufWriter;
import org.redhare.model.quant.Quantization;
import org.redhare.model.safetensors.SafetensorsCheckpoint;
import org.redhare.model.synth.SyntheticModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a random-weight checkpoint in a real model's shape (Hugging Face layout), for benchmarks.")
final class SynthCommand implements Callable<Integer> {
    @Option(names = "--arch", required = true, description = "qwen2, qwen3, llama, glm4, gemma3, qwen3-moe or deepseek-v3")
    String arch;

    @Option(names = "--shape", required = true,
            description = "qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b, llama-3.2-3b, qwen3-0.6b, qwen3-1.7b, glm-4-9b, gemma-3-270m, gemma-3-1b, tiny;"
                    + " for qwen3-moe: qwen3-30b-a3b, qwen3-30b-a3b-6l (its layers, six of them), qwen3-moe-tiny; for deepseek-v3: deepseek-v3-small,"
                    + " deepseek-v3-tiny, deepseek-v2-lite-tiny (DeepSeek-V2-Lite's form: no q LoRA, softmax routing)")
    String shape;

    @Option(names = "--dtype", defaultValue = "bf16",
            description = "bf16, f16, f32, fp8 (block-scaled E4M3 linear weights, as DeepSeek-V3/Qwen3-FP8 publish), or q8_0 / q4_0 / q4_k / q6_k"
                    + " (a GGUF file with GGML-quantized linear weights, and the --tokenizer vocabulary; qwen2, qwen3, llama, gemma3, qwen3-moe"
                    + " or deepseek-v3;"
                    + " --out names the .gguf file) (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--out", required = true, description = "output directory")
    Path out;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "copy tokenizer.json and tokenizer_config.json from DIR")
    Path tokenizer;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (!java.util.List.of("qwen2", "qwen3", "llama", "glm4", "gemma3", "qwen3-moe", "deepseek-v3").contains(arch)) {
            throw CliException.usage("--arch must be qwen2, qwen3, llama, glm4, gemma3, qwen3-moe or deepseek-v3, got '" + arch + "'");
        }
        String lower = dtype.toLowerCase(java.util.Locale.ROOT);
        if (lower.equals("q8_0") || lower.equals("q4_0") || lower.equals("q4_k") || lower.equals("q6_k")) {
            return writeGguf(Quantization.parse(lower));
        }
        DType d = switch (lower) {
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            case "f32" -> DType.F32;
            case "fp8" -> DType.F8_E4M3;
            default -> throw CliException.usage("--dtype must be bf16, f16, f32, fp8, q8_0, q4_0, q4_k or q6_k, got '" + dtype + "'");
        };
        Shapes shapes = shapes();
        long t0 = System.nanoTime();
        java.util.function.BiConsumer<Long, Long> bar = (done, total) -> Progress.bar("writing " + out.getFileName(), done, total);
        shapes.write(d, out, seed, bar);
        if (tokenizer != null) {
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
                Path src = tokenizer.resolve(f);
                if (Files.isRegularFile(src)) {
                    Files.copy(src, out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Progress.info(String.format("wrote %s (%s, %s shape, %s) in %.1f s", out, arch, shape, dtype, (System.nanoTime() - t0) / 1e9));
        return 0;
    }

    /** The shape --arch and --shape name: exactly one of the three is set. */
    private record Shapes(SyntheticModel.Shape dense, SyntheticModel.MoeShape moe, SyntheticModel.DeepseekShape deepseek) {
        void write(DType dtype, Path out, long seed, java.util.function.BiConsumer<Long, Long> progress) throws java.io.IOException {
            if (deepseek != null) {
                SyntheticModel.write(deepseek, dtype, out, seed, progress);
            } else if (moe != null) {
                SyntheticModel.write(moe, dtype, out, seed, progress);
            } else {
                SyntheticModel.write(dense, dtype, out, seed, progress);
            }
        }
    }

    /** The named shape, its embedding grown to cover every id --tokenizer can produce (the DeepSeek shapes have DeepSeek's). */
    private Shapes shapes() {
        Shapes shapes;
        try {
            shapes = switch (arch) {
                case "deepseek-v3" -> new Shapes(null, null, SyntheticModel.deepseekShape(shape));
                case "qwen3-moe" -> new Shapes(null, SyntheticModel.moeShape(shape), null);
                default -> new Shapes(SyntheticModel.withArch(SyntheticModel.shape(shape), arch), null, null);
            };
        } catch (IllegalArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
        if (tokenizer == null) {
            return shapes;
        }
        if (!Files.isRegularFile(tokenizer.resolve("tokenizer.json"))) {
            throw CliException.usage("--tokenizer " + tokenizer + " has no tokenizer.json");
        }
        int v = TextCodec.require(tokenizer, "--tokenizer").text().tokenizer().vocabSize();
        return new Shapes(shapes.dense() == null ? null : SyntheticModel.withVocabAtLeast(shapes.dense(), v),
                shapes.moe() == null ? null : SyntheticModel.withVocabAtLeast(shapes.moe(), v), shapes.deepseek());
    }

    /** A BF16 synth checkpoint in a temporary directory, converted to a GGUF file at --out. */
    private int writeGguf(Quantization q) throws Exception {
        if (arch.equals("glm4")) {
            throw CliException.usage("--dtype " + q + " writes GGUF, which synth supports for --arch qwen2, qwen3, llama, gemma3, qwen3-moe or"
                    + " deepseek-v3, got '" + arch + "'");
        }
        Shapes shapes = shapes();
        long t0 = System.nanoTime();
        Path tmp = Files.createTempDirectory("redhare-synth-");
        try {
            java.util.function.BiConsumer<Long, Long> bar = (done, total) -> Progress.bar("writing bf16 weights", done, total);
            shapes.write(DType.BF16, tmp, seed, bar);
            ModelConfig config = ModelConfig.load(tmp);
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(tmp)) {
                GgufWriter.convert(c, config, q, GgufVocabularyOption.of(tokenizer, config.vocabSize()), out,
                        (done, total) -> Progress.bar("writing " + out.getFileName(), done, total));
            }
        } finally {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Progress.info(String.format("wrote %s (%s, %s shape, linear weights %s, GGUF) in %.1f s", out, arch, shape, q,
                (System.nanoTime() - t0) / 1e9));
        return 0;
    }
}
