package org.redhare.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
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

    @Option(names = "--to", required = true, description = "target format: fp8 (Hugging Face directory), q8_0, q4_0 or q4_k (a GGUF file; qwen2/qwen3)")
    String to;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "output directory (fp8) or .gguf file (q8_0, q4_0, q4_k)")
    Path out;

    @Override
    public Integer call() throws Exception {
        String target = to.toLowerCase(java.util.Locale.ROOT);
        if (!target.equals("fp8") && !target.equals("q8_0") && !target.equals("q4_0") && !target.equals("q4_k")) {
            throw CliException.usage("--to " + to + " is not supported: quantize writes fp8 (Hugging Face layout), q8_0, q4_0 or q4_k (GGUF)");
        }
        if (!Files.isDirectory(model)) {
            throw CliException.usage("--model " + model + " is not a model directory");
        }
        long t0 = System.nanoTime();
        if (!target.equals("fp8")) {
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(model)) {
                GgufWriter.convert(c, ModelConfig.load(model), Quantization.parse(target), out,
                        (done, total) -> Progress.bar("quantizing to " + target, done, total));
            }
            Progress.info(String.format("wrote %s in %.1f s", out, (System.nanoTime() - t0) / 1e9));
            return 0;
        }
        Fp8CheckpointWriter.write(model, out, (done, total) -> Progress.bar("quantizing to fp8", done, total));
        Progress.info(String.format("wrote %s in %.1f s", out, (System.nanoTime() - t0) / 1e9));
        return 0;
    }
}
