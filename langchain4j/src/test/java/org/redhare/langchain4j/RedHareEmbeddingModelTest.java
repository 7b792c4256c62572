package org.redhare.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.request.EmbeddingInput;
import dev.langchain4j.model.embedding.request.EmbeddingInputType;
import dev.langchain4j.model.embedding.request.EmbeddingRequest;
import dev.langchain4j.model.embedding.response.EmbeddingResponse;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.store.embedding.EmbeddingSearchRequest;
import dev.langchain4j.store.embedding.EmbeddingSearchResult;
import dev.langchain4j.store.embedding.inmemory.InMemoryEmbeddingStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.model.Pooling;
import org.redhare.server.TextModels;

/**
 * LangChain4j's embedding model over a model loaded from disk as a sentence-transformers folder (mean pooling,
 * normalized, a query and a document prompt, as its modules.json and config_sentence_transformers.json say): each
 * vector must be the engine's own pooled state of the tokens of the prompt and text, unit length; and a LangChain4j
 * embedding store finds documents by it.
 */
class RedHareEmbeddingModelTest {
    @TempDir
    static Path tmp;
    static LocalModel local;
    static final String QUERY = "Instruct: Given a question, retrieve passages that answer it\nQuery: ";
    static final String DOCUMENT = "Passage: ";

    @BeforeAll
    static void up() throws Exception {
        Path dir = tmp.resolve("st-model");
        Files.createDirectories(dir.resolve("1_Pooling"));
        try (Stream<Path> files = Files.list(TextModels.qwen3())) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        Files.writeString(dir.resolve("modules.json"), """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                 {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]""");
        Files.writeString(dir.resolve("1_Pooling/config.json"), "{\"pooling_mode_mean_tokens\": true, \"include_prompt\": true}");
        Files.writeString(dir.resolve("config_sentence_transformers.json"),
                "{\"prompts\": {\"query\": \"" + QUERY.replace("\n", "\\n") + "\", \"document\": \"" + DOCUMENT + "\"}}");
        local = LocalModel.builder(dir).threads(1).contextLength(256).kvCacheMemory("32MiB").warmUp(false).name("st").build();
    }

    @AfterAll
    static void down() {
        if (local != null) local.close();
    }

    /** The engine's mean-pooled state of {@code text}'s tokens, normalized: what every vector must be. */
    static float[] expected(String text, Integer dims) throws InterruptedException {
        int[] ids = local.api().model().formatter().encode(text);
        float[] raw = local.api().model().engine().embed(new org.redhare.engine.EmbeddingRequest(ids, Pooling.MEAN)).awaitEmbedding().vector();
        float[] v = dims != null ? java.util.Arrays.copyOf(raw, dims) : raw;
        double n = 0;
        for (float f : v) n += (double) f * f;
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) (v[i] / Math.sqrt(n));
        return out;
    }

    @Test
    void textsAreTheModelsPooledStatesAndInputTypesTakeItsPrompts() throws Exception {
        RedHareEmbeddingModel m = RedHareEmbeddingModel.builder().model(local).build();
        assertThat(m.dimension()).isEqualTo(local.api().model().engine().model().config().hiddenSize());
        assertThat(m.modelName()).isEqualTo("st");
        Response<List<Embedding>> r = m.embedAll(List.of(TextSegment.from("red hare"), TextSegment.from("a horse of legend")));
        assertThat(r.content()).hasSize(2);
        assertThat(r.content().get(0).vector()).containsExactly(expected("red hare", null));
        assertThat(r.content().get(1).vector()).containsExactly(expected("a horse of legend", null));
        assertThat(r.tokenUsage().inputTokenCount()).isPositive();
        double norm = 0;
        for (float f : r.content().get(0).vector()) norm += f * f;
        assertThat(norm).isCloseTo(1.0, offset(1e-5));

        EmbeddingResponse q = m.embed(EmbeddingRequest.builder().inputs(List.of(EmbeddingInput.from("who rode red hare?")))
                .inputType(EmbeddingInputType.QUERY).build());
        assertThat(q.embeddings().get(0).vector()).containsExactly(expected(QUERY + "who rode red hare?", null));
        EmbeddingResponse d = m.embed(EmbeddingRequest.builder().inputs(List.of(EmbeddingInput.from("Lu Bu rode it.")))
                .inputType(EmbeddingInputType.DOCUMENT).dimensions(16).build());
        assertThat(d.embeddings().get(0).vector()).containsExactly(expected(DOCUMENT + "Lu Bu rode it.", 16));
    }

    @Test
    void defaultsFromTheBuilderAndAStoreThatFindsDocumentsByThem() {
        RedHareEmbeddingModel docs = RedHareEmbeddingModel.builder().model(local).dimensions(32).inputType(EmbeddingInputType.DOCUMENT).build();
        assertThat(docs.dimension()).isEqualTo(32);
        InMemoryEmbeddingStore<TextSegment> store = new InMemoryEmbeddingStore<>();
        List<String> texts = List.of("Red Hare was a famous horse.", "Chitu runs models on any hardware.", "The JVM runs Java.");
        for (String t : texts) {
            TextSegment s = TextSegment.from(t);
            store.add(docs.embed(s).content(), s);
        }
        for (String t : texts) { // a text searched as the same input type finds itself, with a cosine of 1
            EmbeddingSearchResult<TextSegment> hit = store.search(EmbeddingSearchRequest.builder().queryEmbedding(docs.embed(t).content())
                    .maxResults(1).build());
            assertThat(hit.matches().get(0).embedded().text()).isEqualTo(t);
            assertThat(hit.matches().get(0).score()).isCloseTo(1.0, offset(1e-5));
        }
        assertThatThrownBy(() -> RedHareEmbeddingModel.builder().model(local).dimensions(100000).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dimensions must be in [1, ");
        assertThatThrownBy(() -> RedHareEmbeddingModel.builder().build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model is required");
    }
}
