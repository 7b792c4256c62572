package org.redhare.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.redhare.model.quant.Fp8CheckpointWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Write a quantized copy of a Hugging Face checkpoint (FP8: block-scaled E4M3, the layout DeepSeek-V3 and Qwen3-FP8 use).")
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "IN", description = "BF16/F16/F32 Hugging Face model directory")
    Path model;

    @Option(names = "--to", required = true, description = "target format: fp8")
    String to;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!to.equalsIgnoreCase("fp8")) {
            throw CliException.usage("--to " + to + " is not supported: quantize writes fp8 checkpoints (q8_0 and q4_0 are available "
                    + "in memory with --quantize when loading)");
        }
        if (!Files.isDirectory(model)) {
            throw CliException.usage("--model " + model + " is not a model directory");
        }
        long t0 = System.nanoTime();
        Fp8CheckpointWriter.write(model, out, (done, total) -> Progress.bar("quantizing to fp8", done, total));
        Progress.info(String.format("wrote %s in %.1f s", out, (System.nanoTime() - t0) / 1e9));
        return 0;
    }
}
