package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.testing.SharedFiles;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.ModelLoader;
import org.redhare.model.synth.SyntheticModel;

/**
 * Continuous batching is only invisible to users if a token's logits do not depend on what else is in
 * the batch. Checked bit for bit on F32 weights (synthetic models of the dense families): one sequence
 * alone versus the same tokens batched with another sequence's prefill and decode.
 */
class BatchInvarianceTest {
    @TempDir
    Path tmp;

    @Test
    void f32LogitsDoNotDependOnTheBatch() throws Exception {
        try (Parallel pool = new Parallel(2)) {
            for (String arch : new String[] {"llama", "qwen2", "qwen3", "glm4"}) {
                Path dir = tmp.resolve(arch);
                SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), arch), DType.F32, dir, 11, (a, b) -> {});
                try (CausalLM model = ModelLoader.load(dir, pool)) {
                    assertInvariant(model, arch);
                }
            }
        }
    }

    /**
     * The BF16 fixtures, dense and mixture-of-experts, and DeepSeek's FP8 fixture with latent attention
     * in its default (absorbed) form. (The opt-in auto form picks by batch size and is not covered.) On the mixtures, A's
     * prompt alone runs its experts one per worker (few rows each) and the 42-token batch splits each expert's products
     * over the threads (an expert past 16 rows): the two paths of {@code MixtureOfExperts} give the same bits.
     */
    @Test
    void fixtureLogitsDoNotDependOnTheBatch() {
        try (Parallel pool = new Parallel(2)) {
            for (String f : new String[] {"qwen2-tiny", "llama-tiny", "qwen3-tiny", "mixtral-tiny", "qwen3-moe-tiny", "deepseek-v3-tiny-fp8"}) {
                try (CausalLM model = ModelLoader.load(SharedFiles.require("fixtures/" + f), pool)) {
                    assertInvariant(model, f);
                }
            }
        }
    }

    /** Alone: A's prompt, then one decode token. Batched: A's prompt with B's, then both decode together. */
    static void assertInvariant(CausalLM model, String what) {
        int vocab = model.vocabSize();
        int[] a = EngineServingTest.randomPrompt(1, 13);
        int[] b = EngineServingTest.randomPrompt(2, 29);
        for (int i = 0; i < a.length; i++) a[i] %= vocab;
        for (int i = 0; i < b.length; i++) b[i] %= vocab;
        int bs = 8;
        int[] tableA = {0, 1};
        int[] tableB = {2, 3, 4, 5};
        int nextA = 7;
        int nextB = 9;
        float[] aloneLast = new float[vocab];
        float[] aloneDecode = new float[vocab];
        try (PagedKvCache cache = model.kvLayout().allocate(6, bs, KvDtype.F32)) {
            model.forward(ForwardBatch.ofSequence(a, 0, tableA, false), cache, aloneLast);
            model.forward(ForwardBatch.ofSequence(new int[] {nextA}, a.length, tableA, false), cache, aloneDecode);
        }
        float[] batched = new float[2 * vocab];
        try (PagedKvCache cache = model.kvLayout().allocate(6, bs, KvDtype.F32)) {
            // B first so A's tokens sit at other row indices than when alone.
            int n = a.length + b.length;
            int[] tokens = new int[n];
            int[] pos = new int[n];
            int[][] tables = new int[n][];
            for (int i = 0; i < b.length; i++) {
                tokens[i] = b[i];
                pos[i] = i;
                tables[i] = tableB;
            }
            for (int i = 0; i < a.length; i++) {
                tokens[b.length + i] = a[i];
                pos[b.length + i] = i;
                tables[b.length + i] = tableA;
            }
            model.forward(new ForwardBatch(tokens, pos, tables, new int[] {b.length - 1, n - 1}), cache, batched);
            assertThat(Arrays.copyOfRange(batched, vocab, 2 * vocab)).as("%s: prompt logits batched with another prefill", what)
                    .containsExactly(aloneLast);
            model.forward(new ForwardBatch(new int[] {nextB, nextA}, new int[] {b.length, a.length}, new int[][] {tableB, tableA},
                    new int[] {0, 1}), cache, batched);
            assertThat(Arrays.copyOfRange(batched, vocab, 2 * vocab)).as("%s: decode logits batched with another decode", what)
                    .containsExactly(aloneDecode);
        }
    }
}
