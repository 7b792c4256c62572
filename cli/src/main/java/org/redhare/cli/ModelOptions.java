package org.redhare.cli;

import java.nio.file.Path;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.model.CausalLM;
import org.redhare.model.ModelLoader;
import picocli.CommandLine.Option;

/** Options every command that loads a model shares. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PATH",
            description = "Hugging Face model directory (config.json + *.safetensors)")
    Path model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "worker threads (default: all processors)")
    Integer threads;

    @Option(names = "--kv-cache-dtype", paramLabel = "TYPE", defaultValue = "f32",
            description = "KV cache element type: f32 (exact, default), bf16, f16 (half the memory for long contexts)")
    String kvCacheDtype;

    Parallel pool() {
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1 || n > 1024) {
            throw CliException.usage("--threads must be between 1 and 1024, got " + n);
        }
        return new Parallel(n);
    }

    KvDtype kvDtype() {
        try {
            return KvDtype.parse(kvCacheDtype);
        } catch (IllegalArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
    }

    CausalLM load(Parallel pool) {
        long t0 = System.nanoTime();
        CausalLM m = ModelLoader.load(model, pool);
        Progress.info(String.format("loaded %s (%s) in %.0f ms, %d threads", model.getFileName(), m.config().architecture(),
                (System.nanoTime() - t0) / 1e6, pool.threads()));
        return m;
    }
}
