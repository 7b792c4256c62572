package org.redhare.model;

import java.nio.file.Files;
import java.nio.file.Path;
import org.redhare.core.Parallel;
import org.redhare.model.arch.Architectures;
import org.redhare.model.gguf.GgufCheckpoint;
import org.redhare.model.layers.Decoder;
import org.redhare.model.quant.Quantization;
import org.redhare.model.quant.QuantizingCheckpoint;
import org.redhare.model.safetensors.SafetensorsCheckpoint;

/** Opens a model from a Hugging Face directory or a GGUF file: config, mapped weights, architecture wiring. */
public final class ModelLoader {
    private ModelLoader() {}

    static boolean isGguf(Path path) {
        try (var in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
        } catch (java.io.IOException e) {
            throw new ModelLoadException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    public static CausalLM load(Path path, Parallel pool) {
        return load(path, pool, LoadOptions.DEFAULT);
    }

    /** Wraps the checkpoint so linear weights are quantized as the architecture reads them, when asked. */
    private static Checkpoint quantizing(Checkpoint c, ModelConfig config, LoadOptions options, Parallel pool) {
        if (options.quantize() == Quantization.NONE) {
            return c;
        }
        if (!config.raw().path("quantization_config").isMissingNode()) {
            // An FP8 checkpoint keeps some linear weights in BF16, the LM head above all (DeepSeek-V3/R1, Qwen3-FP8): on a
            // small model it is the largest matrix, read once per token. --quantize fp8 turns only those into FP8, with the
            // checkpoint's own 128x128 block scales; its FP8 weights are used as stored. Any other target would quantize
            // FP8 weights a second time.
            if (options.quantize() != Quantization.FP8 || !Fp8Scheme.completesWithFp8(config)) {
                throw new ModelLoadException("--quantize " + options.quantize() + " needs a BF16, F16 or F32 checkpoint, but "
                        + c.describe() + " is already quantized (quantization_config in config.json); load it without --quantize"
                        + " (on an FP8 checkpoint with 128x128 block scales, --quantize fp8 quantizes only the weights it keeps in BF16,"
                        + " such as the LM head)");
            }
        }
        return new QuantizingCheckpoint(c, options.quantize(), config.tieWordEmbeddings(), options, pool);
    }

    /** The LM head's screen for greedy and top-k tokens, as the options say (see {@link LoadOptions.HeadScreen}). */
    private static CausalLM screened(CausalLM model, LoadOptions options) {
        if (model instanceof Decoder d) {
            d.screenHead(options.headScreen(), options.batches(), options.log()); // a failure closes the checkpoint below, with the model
        }
        return model;
    }

    public static CausalLM load(Path path, Parallel pool, LoadOptions options) {
        if (!Files.exists(path)) {
            throw new ModelLoadException("model path does not exist: " + path);
        }
        if (Files.isRegularFile(path) && isGguf(path)) {
            GgufCheckpoint gguf = GgufCheckpoint.open(path);
            try {
                ModelConfig config = gguf.config();
                return screened(Architectures.forConfig(config).build(config, quantizing(gguf, config, options, pool), pool), options);
            } catch (RuntimeException e) {
                gguf.close();
                throw e;
            }
        }
        if (!Files.isDirectory(path)) {
            throw new ModelLoadException(path + " is neither a model directory nor a GGUF file. --model takes a Hugging Face model "
                    + "directory (config.json + *.safetensors) or a .gguf file");
        }
        ModelConfig config = ModelConfig.load(path);
        var arch = Architectures.forConfig(config);
        Checkpoint checkpoint = arch.textView(config, SafetensorsCheckpoint.open(path));
        try {
            return screened(arch.build(config, quantizing(checkpoint, config, options, pool), pool), options);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }
}
