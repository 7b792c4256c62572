package org.redhare.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.testing.SharedFiles;

class KvLayoutTest {
    @Test
    void mlaCachesOnlyTheLatentAndTheRopeKey() {
        Path dir = SharedFiles.require("fixtures/deepseek-v3-tiny-fp8");
        try (Parallel pool = new Parallel(1); CausalLM m = ModelLoader.load(dir, pool)) {
            var raw = m.config().raw();
            int perLayer = raw.path("kv_lora_rank").asInt() + raw.path("qk_rope_head_dim").asInt();
            int layers = m.config().numLayers();
            assertThat(m.kvLayout().bytesPerToken(KvDtype.F32)).isEqualTo((long) perLayer * layers * 4);
            assertThat(m.kvLayout().bytesPerToken(KvDtype.BF16)).isEqualTo((long) perLayer * layers * 2);
            // DeepSeek-V3's real shape: (512 + 64) x 61 layers x 2 bytes = 70,272 bytes per token in BF16.
            assertThat(new CausalLM.KvLayout(61, 512 + 64, 0).bytesPerToken(KvDtype.BF16)).isEqualTo(70_272L);
            ModelSummary s = m.summary();
            assertThat(s.activeParameters()).isLessThan(s.totalParameters());
        }
    }

    @Test
    void gqaCachesKeysAndValuesPerKvHead() {
        Path dir = SharedFiles.require("fixtures/qwen3-tiny");
        try (Parallel pool = new Parallel(1); CausalLM m = ModelLoader.load(dir, pool)) {
            assertThat(m.kvLayout().bytesPerToken(KvDtype.F32)).isEqualTo(2L * 2 * 64 * 2 * 4); // layers x (k+v) x kvHeads*headDim x 4
            assertThat(m.summary().activeParameters()).isEqualTo(m.summary().totalParameters());
        }
    }
}
