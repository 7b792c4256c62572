package org.redhare.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.testing.SharedFiles;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.ModelLoadException;
import org.redhare.model.ModelLoader;

/** A real trained model from a GGUF file: stories260K must tell its story, token for token. */
class GgufModelTest {
    @Test
    void stories260KGeneratesTheGoldenGreedyTokens() throws Exception {
        Path gguf = SharedFiles.require("models/stories260K.gguf");
        JsonNode golden = new ObjectMapper().readTree(SharedFiles.require("models/stories260K.golden.json").toFile());
        JsonNode ids = golden.path("token_ids");
        try (Parallel pool = new Parallel(2); CausalLM m = ModelLoader.load(gguf, pool);
             PagedKvCache cache = m.kvLayout().allocate(8, 16, KvDtype.F32)) {
            assertThat(m.config().architecture()).isEqualTo("LlamaForCausalLM");
            assertThat(m.config().ropeInterleaved()).isTrue();
            int vocab = m.vocabSize();
            int[] table = {0, 1, 2, 3, 4, 5, 6, 7};
            float[] logits = new float[vocab];
            int token = ids.get(0).asInt();
            // First step: the reference's top-10 logits.
            m.forward(ForwardBatch.ofSequence(new int[] {token}, 0, table, false), cache, logits);
            for (JsonNode e : golden.path("first_step_top10")) {
                int id = e.has("id") ? e.path("id").asInt() : e.get(0).asInt();
                double ref = e.has("logit") ? e.path("logit").asDouble() : e.get(1).asDouble();
                assertThat((double) logits[id]).as("logit of %d", id).isCloseTo(ref, org.assertj.core.data.Offset.offset(1e-3));
            }
            for (int i = 1; i < ids.size(); i++) {
                int next = argmax(logits);
                assertThat(next).as("token %d", i).isEqualTo(ids.get(i).asInt());
                m.forward(ForwardBatch.ofSequence(new int[] {next}, i, table, false), cache, logits);
            }
        }
    }

    @Test
    void f16GgufLoadsAndRuns() throws Exception {
        Path gguf = SharedFiles.require("models/llama-2-tiny-random.gguf");
        try (Parallel pool = new Parallel(1); CausalLM m = ModelLoader.load(gguf, pool);
             PagedKvCache cache = m.kvLayout().allocate(1, 16, KvDtype.F32)) {
            assertThat(m.vocabSize()).isEqualTo(32000);
            float[] logits = new float[3 * 32000];
            m.forward(ForwardBatch.ofSequence(new int[] {1, 100, 200}, 0, new int[] {0}, true), cache, logits);
            for (float f : logits) {
                assertThat(f).isFinite();
            }
        }
    }

    @Test
    void badFilesAreClearErrors(@TempDir Path tmp) throws Exception {
        Path bad = tmp.resolve("bad.gguf");
        Files.write(bad, new byte[] {'G', 'G', 'U', 'F', 9, 0, 0, 0});
        assertThatThrownBy(() -> ModelLoader.load(bad, null)).hasMessageContaining("bad.gguf").hasMessageContaining("version");
        Path notGguf = tmp.resolve("x.gguf");
        Files.writeString(notGguf, "hello");
        assertThatThrownBy(() -> ModelLoader.load(notGguf, null)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("neither a model directory nor a GGUF file");
    }

    static int argmax(float[] x) {
        int b = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
        return b;
    }
}
