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
        SyntheticModel.Shape s = null;
        SyntheticModel.DeepseekShape ds = null;
        SyntheticModel.MoeShape moe = null;
        try {
            if (arch.equals("deepseek-v3")) {
                ds = SyntheticModel.deepseekShape(shape);
            } else if (arch.equals("qwen3-moe")) {
                moe = SyntheticModel.moeShape(shape);
            } else {
                s = SyntheticModel.withArch(SyntheticModel.shape(shape), arch);
            }
        } catch (IllegalArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
        if (tokenizer != null && !Files.isRegularFile(tokenizer.resolve("tokenizer.json"))) {
            throw CliException.usage("--tokenizer " + tokenizer + " has no tokenizer.json");
        }
        if (tokenizer != null && s != null) {
            // the embedding must cover every id the tokenizer can produce
            s = SyntheticModel.withVocabAtLeast(s, TextCodec.require(tokenizer, "--tokenizer").text().tokenizer().vocabSize());
        }
        if (tokenizer != null && moe != null) {
            moe = SyntheticModel.withVocabAtLeast(moe, TextCodec.require(tokenizer, "--tokenizer").text().tokenizer().vocabSize());
        }
        long t0 = System.nanoTime();
        java.util.function.BiConsumer<Long, Long> bar = (done, total) -> Progress.bar("writing " + out.getFileName(), done, total);
        if (ds != null) {
            SyntheticModel.write(ds, d, out, seed, bar);
        } else if (moe != null) {
            SyntheticModel.write(moe, d, out, seed, bar);
        } else {
            SyntheticModel.write(s, d, out, seed, bar);
        }
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

    /** A BF16 synth checkpoint in a temporary directory, converted to a GGUF file at --out. */
    private int writeGguf(Quantization q) throws Exception {
        if (arch.equals("glm4")) {
            throw CliException.usage("--dtype " + q + " writes GGUF, which synth supports for --arch qwen2, qwen3, llama, gemma3, qwen3-moe or"
                    + " deepseek-v3, got '" + arch + "'");
        }
        SyntheticModel.Shape s = null;
        SyntheticModel.MoeShape moe = null;
        SyntheticModel.DeepseekShape ds = null;
        try {
            if (arch.equals("deepseek-v3")) {
                ds = SyntheticModel.deepseekShape(shape);
            } else if (arch.equals("qwen3-moe")) {
                moe = SyntheticModel.moeShape(shape);
            } else {
                s = SyntheticModel.withArch(SyntheticModel.shape(shape), arch);
            }
        } catch (IllegalArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
        if (tokenizer != null && !Files.isRegularFile(tokenizer.resolve("tokenizer.json"))) {
            throw CliException.usage("--tokenizer " + tokenizer + " has no tokenizer.json");
        }
        if (tokenizer != null) {
            int v = TextCodec.require(tokenizer, "--tokenizer").text().tokenizer().vocabSize();
            if (s != null) {
                s = SyntheticModel.withVocabAtLeast(s, v);
            } else if (moe != null) {
                moe = SyntheticModel.withVocabAtLeast(moe, v);
            }
        }
        long t0 = System.nanoTime();
        Path tmp = Files.createTempDirectory("redhare-synth-");
        try {
            java.util.function.BiConsumer<Long, Long> bar = (done, total) -> Progress.bar("writing bf16 weights", done, total);
            if (ds != null) {
                SyntheticModel.write(ds, DType.BF16, tmp, seed, bar);
            } else if (moe != null) {
                SyntheticModel.write(moe, DType.BF16, tmp, seed, bar);
            } else {
                SyntheticModel.write(s, DType.BF16, tmp, seed, bar);
            }
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
