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
