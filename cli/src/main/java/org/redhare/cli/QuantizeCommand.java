package org.redhare.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.redhare.model.GenerationDefaults;
import org.redhare.model.ModelConfig;
import org.redhare.model.gguf.GgufWriter;
import org.redhare.model.quant.Fp8CheckpointWriter;
import org.redhare.model.quant.Quantization;
import org.redhare.model.safetensors.SafetensorsCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Write a quantized copy of a Hugging Face checkpoint (FP8: block-scaled E4M3, the layout DeepSeek-V3 and Qwen3-FP8 use).")
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "IN", description = "BF16/F16/F32 Hugging Face model directory")
    Path model;

    @Option(names = "--to", required = true, description = "target format: fp8 (Hugging Face directory), q8_0, q4_0, q4_k or q6_k (a GGUF file),"
            + " or gguf (a GGUF file keeping the float types); GGUF for llama, mistral, qwen2 and qwen3, with the tokenizer")
    String to;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "output directory (fp8) or .gguf file (q8_0, q4_0, q4_k, q6_k, gguf)")
    Path out;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads that quantize each matrix (default: all processors; the output is the same)")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        String target = to.toLowerCase(java.util.Locale.ROOT);
        if (!java.util.List.of("fp8", "q8_0", "q4_0", "q4_k", "q6_k", "gguf").contains(target)) {
            throw CliException.usage("--to " + to + " is not supported: quantize writes fp8 (Hugging Face layout), q8_0, q4_0, q4_k, q6_k"
                    + " or gguf (GGUF files)");
        }
        if (!Files.isDirectory(model)) {
            throw CliException.usage("--model " + model + " is not a model directory");
        }
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1 || n > 1024) {
            throw CliException.usage("--threads must be between 1 and 1024, got " + n);
        }
        long t0 = System.nanoTime();
        if (!target.equals("fp8")) {
            Quantization q = target.equals("gguf") ? Quantization.NONE : Quantization.parse(target);
            ModelConfig config = ModelConfig.load(model);
            // a multimodal checkpoint's language model (Gemma 3 4B+), as llama.cpp converts it: the text model's GGUF
            try (org.redhare.model.Checkpoint c = org.redhare.model.arch.Architectures.find(config.architecture())
                    .map(a -> a.textView(config, SafetensorsCheckpoint.open(model))).orElseGet(() -> SafetensorsCheckpoint.open(model))) {
                GgufWriter.architecture(config); // unsupported models fail before anything else is read
                // the tokenizer, and the sampling settings of generation_config.json as llama.cpp's converter writes them
                Map<String, Object> extra = new LinkedHashMap<>(GgufVocabularyOption.of(model, config.vocabSize()));
                extra.putAll(GenerationDefaults.load(model, Progress::info).asGgufMetadata());
                GgufWriter.convert(c, config, q, extra, out,
                        (done, total) -> Progress.bar(q == Quantization.NONE ? "writing gguf" : "quantizing to " + target, done, total), n);
            } catch (org.redhare.model.ModelLoadException e) {
                throw CliException.usage(e.getMessage());
            }
            Progress.info(String.format("wrote %s in %.1f s", out, (System.nanoTime() - t0) / 1e9));
            return 0;
        }
        Fp8CheckpointWriter.write(model, out, (done, total) -> Progress.bar("quantizing to fp8", done, total), n);
        Progress.info(String.format("wrote %s in %.1f s", out, (System.nanoTime() - t0) / 1e9));
        return 0;
    }
}
