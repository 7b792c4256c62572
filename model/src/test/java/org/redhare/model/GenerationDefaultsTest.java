package org.redhare.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.model.gguf.GgufWriter;

class GenerationDefaultsTest {
    @TempDir Path tmp;
    final List<String> warnings = new ArrayList<>();

    private GenerationDefaults dir(String json) throws Exception {
        Path d = Files.createDirectories(tmp.resolve("m" + warnings.size() + System.nanoTime()));
        if (json != null) {
            Files.writeString(d.resolve("generation_config.json"), json);
        }
        return GenerationDefaults.load(d, warnings::add);
    }

    @Test
    void readsTheSamplingFieldsOfGenerationConfig() throws Exception {
        // Qwen2.5-Instruct's file as published
        GenerationDefaults d = dir("{\"bos_token_id\": 151643, \"pad_token_id\": 151643, \"do_sample\": true, \"eos_token_id\": [151645, 151643],"
                + " \"repetition_penalty\": 1.05, \"temperature\": 0.7, \"top_p\": 0.8, \"top_k\": 20, \"transformers_version\": \"4.37.0\"}");
        assertThat(d).isEqualTo(new GenerationDefaults(0.7f, 20, 0.8f, null, 1.05f, "generation_config.json"));
        assertThat(d.temperature(1f)).isEqualTo(0.7f);
        assertThat(d.minP(0.05f)).isEqualTo(0.05f);
        assertThat(d.describe()).isEqualTo("temperature 0.7, top_k 20, top_p 0.8, repetition_penalty 1.05 (generation_config.json)");
        assertThat(warnings).isEmpty();
    }

    @Test
    void aModelThatRecommendsNothingHasNone() throws Exception {
        assertThat(dir(null)).isSameAs(GenerationDefaults.NONE);
        // a base model's file: greedy in transformers, but no sampling field to default from
        assertThat(dir("{\"bos_token_id\": 151643, \"do_sample\": false, \"eos_token_id\": 151643, \"max_new_tokens\": 2048}"))
                .isSameAs(GenerationDefaults.NONE);
        assertThat(GenerationDefaults.load(tmp.resolve("no-such-model"), warnings::add)).isSameAs(GenerationDefaults.NONE);
        Path notGguf = Files.writeString(tmp.resolve("weights.bin"), "not a model");
        assertThat(GenerationDefaults.load(notGguf, warnings::add)).isSameAs(GenerationDefaults.NONE);
        assertThat(GenerationDefaults.NONE.describe()).isEqualTo("none");
        assertThat(warnings).isEmpty();
    }

    @Test
    void valuesNoRequestCouldCarryAreLeftOutWithAWarning() throws Exception {
        GenerationDefaults d = dir("{\"temperature\": -1, \"top_k\": 2.5, \"top_p\": 0, \"min_p\": \"0.1\", \"repetition_penalty\": 1.1}");
        assertThat(d).isEqualTo(new GenerationDefaults(null, null, null, null, 1.1f, "generation_config.json"));
        assertThat(warnings).hasSize(4);
        assertThat(warnings).allSatisfy(w -> assertThat(w).startsWith("warning: the model's generation_config.json recommends").contains("ignored"));
        assertThat(String.join("\n", warnings)).contains("temperature = -1.0, which is ignored (must be in [0, 2])").contains("top_k = 2.5").contains("top_p = 0.0").contains("min_p = \"0.1\"");
        // -1 is transformers' and llama.cpp's "all tokens", as 0 is here
        assertThat(dir("{\"top_k\": -1}").topK()).isZero();
    }

    @Test
    void aMalformedFileIsAClearError() {
        assertThatThrownBy(() -> dir("{\"temperature\": 0.7,"))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("generation_config.json is not valid JSON");
    }

    @Test
    void ggufFilesCarryThemAsLlamaCppNamesThem() throws Exception {
        GenerationDefaults d = new GenerationDefaults(0.6f, 20, 0.95f, 0f, 1.05f, "generation_config.json");
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("general.architecture", "qwen3");
        md.putAll(d.asGgufMetadata());
        assertThat(md).containsEntry("general.sampling.temp", 0.6f).containsEntry("general.sampling.top_k", 20)
                .containsEntry("general.sampling.penalty_repeat", 1.05f);
        Path f = tmp.resolve("m.gguf");
        GgufWriter.write(f, md, List.of());
        GenerationDefaults back = GenerationDefaults.load(f, warnings::add);
        assertThat(back).isEqualTo(new GenerationDefaults(0.6f, 20, 0.95f, 0f, 1.05f, "GGUF metadata"));
        Map<String, Object> other = new LinkedHashMap<>(Map.of("general.architecture", "llama", "general.sampling.top_p", 2.0f));
        Path g = tmp.resolve("n.gguf");
        GgufWriter.write(g, other, List.of());
        assertThat(GenerationDefaults.load(g, warnings::add)).isSameAs(GenerationDefaults.NONE);
        assertThat(warnings).singleElement().asString().contains("GGUF metadata recommends top_p = 2.0");
    }
}
