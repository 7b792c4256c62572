package org.redhare.model.arch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.ModelLoader;
import org.redhare.model.synth.SyntheticModel;

/**
 * Mistral's and Qwen2's sliding windows come from config.json as transformers reads it: Mistral's {@code sliding_window}
 * on every layer, Qwen2's only with {@code use_sliding_window} and from layer {@code max_window_layers} on (or as
 * {@code layer_types} lists), none otherwise. A 4-key window leaves the logits of the first four positions as they are
 * and changes the later ones; a window the config does not switch on changes nothing.
 */
class SlidingWindowConfigTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static float[] logits(Path dir, int n) {
        try (Parallel pool = new Parallel(2); CausalLM m = ModelLoader.load(dir, pool);
             PagedKvCache cache = m.kvLayout().allocate(8, 16, KvDtype.F32)) {
            int[] tokens = new int[n];
            int[] rows = new int[n];
            for (int i = 0; i < n; i++) {
                tokens[i] = 3 + (i * 37) % 500;
                rows[i] = i;
            }
            int[] positions = rows.clone();
            int[][] tables = new int[n][];
            for (int i = 0; i < n; i++) tables[i] = new int[] {0, 1, 2, 3, 4, 5, 6, 7};
            float[] out = new float[n * m.vocabSize()];
            m.forward(new ForwardBatch(tokens, positions, tables, rows, 0), cache, out);
            return out;
        }
    }

    static Path model(Path tmp, String name, String arch, Consumer<ObjectNode> edit) throws Exception {
        Path dir = tmp.resolve(name);
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), arch), DType.F32, dir, 3, (a, b) -> {});
        if (arch.equals("llama")) { // the same weights as Mistral
            ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
            c.putArray("architectures").add("MistralForCausalLM");
            c.put("model_type", "mistral");
            Files.writeString(dir.resolve("config.json"), c.toString());
        }
        ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        edit.accept(c);
        Files.writeString(dir.resolve("config.json"), c.toString());
        return dir;
    }

    static void assertWindowed(float[] plain, float[] windowed, int vocab, int window, int n) {
        for (int p = 0; p < n; p++) {
            boolean same = java.util.Arrays.equals(plain, p * vocab, (p + 1) * vocab, windowed, p * vocab, (p + 1) * vocab);
            assertThat(same).as("position %d, window %d", p, window).isEqualTo(p < window);
        }
    }

    @Test
    void mistralWindowsEveryLayer(@TempDir Path tmp) throws Exception {
        int n = 12;
        float[] plain = logits(model(tmp, "plain", "llama", c -> c.putNull("sliding_window")), n);
        float[] windowed = logits(model(tmp, "windowed", "llama", c -> c.put("sliding_window", 4)), n);
        assertWindowed(plain, windowed, 512, 4, n);
    }

    @Test
    void qwen2WindowsOnlyWhenSwitchedOnAndFromMaxWindowLayers(@TempDir Path tmp) throws Exception {
        int n = 12;
        float[] plain = logits(model(tmp, "plain", "qwen2", c -> { }), n);
        float[] off = logits(model(tmp, "off", "qwen2", c -> c.put("sliding_window", 4).put("use_sliding_window", false)), n);
        assertThat(off).containsExactly(plain);
        float[] late = logits(model(tmp, "late", "qwen2", c -> c.put("sliding_window", 4).put("use_sliding_window", true)
                .put("max_window_layers", 2)), n); // tiny has 2 layers: none from layer 2 on
        assertThat(late).containsExactly(plain);
        float[] on = logits(model(tmp, "on", "qwen2", c -> c.put("sliding_window", 4).put("use_sliding_window", true)
                .put("max_window_layers", 1)), n);
        assertWindowed(plain, on, 512, 4, n);
        float[] listed = logits(model(tmp, "listed", "qwen2", c -> {
            c.put("sliding_window", 4).put("use_sliding_window", true).put("max_window_layers", 1);
            c.putArray("layer_types").add("full_attention").add("full_attention"); // the list wins over max_window_layers
        }), n);
        assertThat(listed).containsExactly(plain);
    }
}
