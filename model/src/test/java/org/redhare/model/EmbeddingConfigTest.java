package org.redhare.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.model.gguf.GgufWriter;

/** How a model embeds, read from the files sentence-transformers and llama.cpp write. */
class EmbeddingConfigTest {
    @TempDir
    Path tmp;

    private static final String MODULES = """
            [
              {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
              {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
              {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
            ]""";

    private Path model(String modules, String pooling, String st) throws Exception {
        Path d = Files.createTempDirectory(tmp, "m");
        Files.writeString(d.resolve("modules.json"), modules);
        if (pooling != null) {
            Files.createDirectories(d.resolve("1_Pooling"));
            Files.writeString(d.resolve("1_Pooling/config.json"), pooling);
        }
        if (st != null) {
            Files.writeString(d.resolve("config_sentence_transformers.json"), st);
        }
        return d;
    }

    /** Qwen3-Embedding's files: last-token pooling, normalized, a query instruction and an empty document prompt. */
    @Test
    void qwen3EmbeddingsFiles() throws Exception {
        Path d = model(MODULES, """
                {"word_embedding_dimension": 1024, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": false,
                 "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false, "pooling_mode_weightedmean_tokens": false,
                 "pooling_mode_lasttoken": true, "include_prompt": true}""", """
                {"prompts": {"query": "Instruct: Given a web search query, retrieve relevant passages that answer the query\\nQuery:",
                 "document": ""}, "default_prompt_name": null, "similarity_fn_name": "cosine"}""");
        EmbeddingConfig c = EmbeddingConfig.load(d);
        assertThat(c.pooling()).isEqualTo(Pooling.LAST);
        assertThat(c.normalize()).isTrue();
        assertThat(c.includePrompt()).isTrue();
        assertThat(c.prompts()).containsOnlyKeys("query", "document");
        assertThat(c.prompts().get("query")).endsWith("answer the query\nQuery:");
        assertThat(c.defaultPromptName()).isNull();
        assertThat(c.unsupported()).isNull();
        assertThat(c.describe()).contains("last token", "normalized", "query");
    }

    @Test
    void everyPoolingModeAndTheNewerByNameForm() throws Exception {
        for (Pooling p : Pooling.values()) {
            Path d = model(MODULES, "{\"pooling_mode_" + p.sentenceTransformersName() + "\": true, \"include_prompt\": false}", null);
            EmbeddingConfig c = EmbeddingConfig.load(d);
            assertThat(c.pooling()).as(p.name()).isEqualTo(p);
            assertThat(c.includePrompt()).isFalse();
        }
        assertThat(EmbeddingConfig.load(model(MODULES, "{\"pooling_mode\": \"mean\"}", null)).pooling()).isEqualTo(Pooling.MEAN);
        assertThat(EmbeddingConfig.load(model(MODULES, "{\"pooling_mode\": \"cls\"}", null)).pooling()).isEqualTo(Pooling.FIRST);
        assertThat(EmbeddingConfig.load(model(MODULES, "{\"pooling_mode\": \"lasttoken\"}", null)).pooling()).isEqualTo(Pooling.LAST);
        // without a Normalize module the vectors stay raw
        String noNorm = "[{\"type\": \"sentence_transformers.models.Transformer\", \"path\": \"\"},"
                + " {\"type\": \"sentence_transformers.models.Pooling\", \"path\": \"1_Pooling\"}]";
        assertThat(EmbeddingConfig.load(model(noNorm, "{\"pooling_mode_mean_tokens\": true}", null)).normalize()).isFalse();
    }

    @Test
    void whatCannotBeReproducedIsSaidAndMalformedFilesFailTheLoad() throws Exception {
        String dense = MODULES.replace("]", ", {\"idx\": 3, \"path\": \"3_Dense\", \"type\": \"sentence_transformers.models.Dense\"}]");
        assertThat(EmbeddingConfig.load(model(dense, "{\"pooling_mode_lasttoken\": true}", null)).unsupported()).contains("'Dense'", "3_Dense");
        assertThat(EmbeddingConfig.load(model(MODULES, "{\"pooling_mode_mean_tokens\": true, \"pooling_mode_max_tokens\": true}", null))
                .unsupported()).contains("concatenates 2 pooling modes");
        assertThatThrownBy(() -> EmbeddingConfig.load(model(MODULES, null, null)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("1_Pooling").hasMessageContaining("missing");
        assertThatThrownBy(() -> EmbeddingConfig.load(model("{not json", null, null))).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> EmbeddingConfig.load(model(MODULES, "{\"pooling_mode_lasttoken\": true}",
                "{\"prompts\": {\"query\": \"q: \"}, \"default_prompt_name\": \"passage\"}")))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("default_prompt_name 'passage'");
    }

    @Test
    void generativeCheckpointsAndGgufFiles() throws Exception {
        assertThat(EmbeddingConfig.load(Files.createTempDirectory(tmp, "plain"))).isSameAs(EmbeddingConfig.DEFAULT);
        assertThat(EmbeddingConfig.DEFAULT.pooling()).isEqualTo(Pooling.LAST);
        assertThat(EmbeddingConfig.DEFAULT.normalize()).isTrue();
        Path none = tmp.resolve("none.gguf");
        GgufWriter.write(none, Map.of("general.architecture", "qwen3"), List.of());
        assertThat(EmbeddingConfig.load(none)).isSameAs(EmbeddingConfig.DEFAULT);
        int[] types = {1, 2, 3};
        Pooling[] want = {Pooling.MEAN, Pooling.FIRST, Pooling.LAST};
        for (int i = 0; i < types.length; i++) {
            Path f = tmp.resolve("p" + types[i] + ".gguf");
            GgufWriter.write(f, Map.of("general.architecture", "qwen3", "qwen3.pooling_type", types[i]), List.of());
            assertThat(EmbeddingConfig.load(f).pooling()).isEqualTo(want[i]);
            assertThat(EmbeddingConfig.load(f).source()).isEqualTo("qwen3.pooling_type " + types[i]);
        }
        Path rank = tmp.resolve("rank.gguf");
        GgufWriter.write(rank, Map.of("general.architecture", "qwen3", "qwen3.pooling_type", 4), List.of());
        assertThat(EmbeddingConfig.load(rank).unsupported()).contains("reranker");
    }
}
