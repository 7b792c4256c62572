package org.redhare.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.testing.SharedFiles;

/** The server's warm-up passes run on every architecture and leave no trace in later results. */
class WarmUpTest {
    private static final int[] PROMPT = {5, 77, 1203, 9, 640, 31, 1999};

    static float[] logits(CausalLM m) {
        try (PagedKvCache cache = m.kvLayout().allocate(2, 16, KvDtype.F32)) {
            float[] out = new float[PROMPT.length * m.vocabSize()];
            m.forward(ForwardBatch.ofSequence(PROMPT, 0, new int[] {0, 1}, true), cache, out);
            return out;
        }
    }

    @ParameterizedTest
    @CsvSource({"qwen3-tiny, F32", "deepseek-v3-tiny-fp8, BF16", "qwen3-moe-tiny, F16"})
    void warmUpRunsAndChangesNothing(String fixture, KvDtype kv) {
        Path dir = SharedFiles.require("fixtures/" + fixture);
        try (Parallel pool = new Parallel(2); CausalLM m = ModelLoader.load(dir, pool)) {
            float[] before = logits(m);
            long ms = WarmUp.run(m, kv);
            assertThat(ms).isNotNegative();
            assertThat(logits(m)).isEqualTo(before);
        }
    }
}
