package org.redhare.model;

import java.nio.file.Files;
import java.nio.file.Path;
import org.redhare.core.Parallel;
import org.redhare.model.arch.Architectures;
import org.redhare.model.gguf.GgufCheckpoint;
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
        if (!Files.exists(path)) {
            throw new ModelLoadException("model path does not exist: " + path);
        }
        if (Files.isRegularFile(path) && isGguf(path)) {
            GgufCheckpoint gguf = GgufCheckpoint.open(path);
            try {
                ModelConfig config = gguf.config();
                return Architectures.forConfig(config).build(config, gguf, pool);
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
        Checkpoint checkpoint = SafetensorsCheckpoint.open(path);
        try {
            return arch.build(config, checkpoint, pool);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }
}
