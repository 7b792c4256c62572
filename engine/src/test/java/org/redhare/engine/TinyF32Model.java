package org.redhare.engine;

import java.nio.file.Path;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.model.CausalLM;
import org.redhare.model.ModelLoader;
import org.redhare.model.synth.SyntheticModel;

/**
 * A tiny synthetic Qwen3-architecture model in F32, written under a test's temporary folder: its kernels give every token
 * the same bits in any batch, so engine tests can compare batched runs with direct forward passes bit for bit, without
 * {@code ../shared}.
 */
record TinyF32Model(Parallel pool, CausalLM model) implements AutoCloseable {
    static TinyF32Model write(Path tmp) throws Exception {
        Parallel pool = new Parallel(2);
        Path dir = tmp.resolve("qwen3");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen3"), DType.F32, dir, 5, (a, b) -> {});
        return new TinyF32Model(pool, ModelLoader.load(dir, pool));
    }

    /**
     * The same tiny shape as a Gemma 3 model whose local layers see a {@code window}-key sliding window (every third layer
     * global): prompts longer than the window exercise windowed attention across blocks, chunks and batches.
     */
    static TinyF32Model writeGemma(Path tmp, int window) throws Exception {
        Parallel pool = new Parallel(2);
        Path dir = tmp.resolve("gemma3");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "gemma3"), DType.F32, dir, 7, (a, b) -> {});
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        config.put("sliding_window", window).put("sliding_window_pattern", 2);
        java.nio.file.Files.writeString(dir.resolve("config.json"), config.toPrettyString());
        return new TinyF32Model(pool, ModelLoader.load(dir, pool));
    }

    /** {@code length} random token ids of the model's vocabulary. */
    int[] randomIds(long seed, int length) {
        int[] p = EngineServingTest.randomPrompt(seed, length);
        for (int i = 0; i < p.length; i++) p[i] %= model.vocabSize();
        return p;
    }

    @Override
    public void close() {
        model.close();
        pool.close();
    }
}
