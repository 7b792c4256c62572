package org.redhare.model;

import java.nio.file.Files;
import java.nio.file.Path;
import org.redhare.core.Parallel;
import org.redhare.model.arch.Architectures;
import org.redhare.model.safetensors.SafetensorsCheckpoint;

/** Opens a model from a Hugging Face directory: config, mapped weights, architecture wiring. */
public final class ModelLoader {
    private ModelLoader() {}

    public static CausalLM load(Path path, Parallel pool) {
        if (!Files.exists(path)) {
            throw new ModelLoadException("model path does not exist: " + path);
        }
        if (!Files.isDirectory(path)) {
            throw new ModelLoadException(path + " is not a model directory. --model takes a Hugging Face model directory "
                    + "(config.json + *.safetensors)" + (path.toString().endsWith(".gguf") ? "; GGUF files are not supported yet" : ""));
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
