package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.errors.BadRequestException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.engine.EmbeddingRequest;
import org.redhare.model.EmbeddingConfig;
import org.redhare.model.GenerationDefaults;
import org.redhare.model.Pooling;

/**
 * POST /v1/embeddings with the official OpenAI SDK as the client, against a tiny random model with the real Qwen3
 * tokenizer: each vector must be the engine's own pooled state of the tokens the tokenizer gives for the text, normalized;
 * many inputs keep their order and each its own vector; dimensions, base64, named prompts, and the errors.
 */
class EmbeddingsApiTest {
    static TestServer ts;
    static OpenAIClient client;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void up() {
        ts = TestServer.text();
        client = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "/v1").apiKey("none").maxRetries(0).build();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    /** The engine's pooled state for these tokens, unit length: what the endpoint must answer. */
    static float[] engineVector(int[] ids, Pooling pooling, int skip) throws InterruptedException {
        float[] raw = ts.engine.embed(new EmbeddingRequest(ids, pooling, skip)).awaitEmbedding().vector();
        return EmbeddingsApi.finish(raw, null, true);
    }

    static float[] floats(List<Float> l) {
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) f[i] = l.get(i);
        return f;
    }

    static double norm(float[] v) {
        double n = 0;
        for (float f : v) n += (double) f * f;
        return Math.sqrt(n);
    }

    @Test
    void oneTextIsTheLastTokensStateOfItsTokensNormalized() throws Exception {
        String text = "The quick brown fox jumps over the lazy dog.";
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").input(text)
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
        r.validate();
        int[] ids = ts.formatter.encode(text);
        assertThat(r.data()).hasSize(1);
        float[] got = floats(r.data().get(0).embedding());
        assertThat(got).hasSize(ts.model.config().hiddenSize()).containsExactly(engineVector(ids, Pooling.LAST, 0));
        assertThat(norm(got)).isCloseTo(1.0, offset(1e-5));
        assertThat(r.usage().promptTokens()).isEqualTo(ids.length);
        assertThat(r.usage().totalTokens()).isEqualTo(ids.length);
        assertThat(r.model()).isEqualTo("tiny");
    }

    @Test
    void manyInputsKeepTheirOrderAndEachItsOwnVector() throws Exception {
        List<String> texts = List.of("first text", "a second, longer text about something else entirely", "3", "first text");
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").inputOfArrayOfStrings(texts)
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
        r.validate();
        assertThat(r.data()).hasSize(4);
        int total = 0;
        for (int i = 0; i < texts.size(); i++) {
            assertThat(r.data().get(i).index()).isEqualTo(i);
            int[] ids = ts.formatter.encode(texts.get(i));
            total += ids.length;
            assertThat(floats(r.data().get(i).embedding())).as("input %d", i).containsExactly(engineVector(ids, Pooling.LAST, 0));
        }
        assertThat(r.usage().promptTokens()).isEqualTo(total);
        assertThat(floats(r.data().get(0).embedding())).isNotEqualTo(floats(r.data().get(1).embedding()))
                .containsExactly(floats(r.data().get(3).embedding()));
        // token ids, one list or several, embed as the same tokens given as text
        int[] ids = ts.formatter.encode(texts.get(1));
        List<Long> asLongs = java.util.Arrays.stream(ids).mapToObj(i -> (long) i).toList();
        CreateEmbeddingResponse byIds = client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").inputOfArrayOfTokens(asLongs)
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
        assertThat(floats(byIds.data().get(0).embedding())).containsExactly(floats(r.data().get(1).embedding()));
        CreateEmbeddingResponse byLists = client.embeddings().create(EmbeddingCreateParams.builder().model("tiny")
                .inputOfArrayOfTokenArrays(List.of(asLongs, List.of(5L, 6L, 7L))).encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
        assertThat(byLists.data()).hasSize(2);
        assertThat(floats(byLists.data().get(0).embedding())).containsExactly(floats(r.data().get(1).embedding()));
        assertThat(floats(byLists.data().get(1).embedding())).containsExactly(engineVector(new int[] {5, 6, 7}, Pooling.LAST, 0));
    }

    @Test
    void dimensionsKeepTheLeadingOnesRenormalizedAndBase64CarriesTheSameFloats() throws Exception {
        String text = "Matryoshka";
        float[] full = floats(client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").input(text)
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build()).data().get(0).embedding());
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").input(text).dimensions(8)
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
        float[] cut = floats(r.data().get(0).embedding());
        assertThat(cut).hasSize(8);
        assertThat(norm(cut)).isCloseTo(1.0, offset(1e-5));
        double scale = norm(java.util.Arrays.copyOf(full, 8));
        for (int i = 0; i < 8; i++) {
            assertThat((double) cut[i]).isCloseTo(full[i] / scale, offset(1e-6));
        }
        HttpResponse<String> b64 = ts.post("/v1/embeddings", "{\"model\":\"tiny\",\"input\":\"Matryoshka\",\"encoding_format\":\"base64\"}");
        assertThat(b64.statusCode()).isEqualTo(200);
        byte[] bytes = Base64.getDecoder().decode(JSON.readTree(b64.body()).at("/data/0/embedding").asText());
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[bytes.length / 4];
        for (int i = 0; i < decoded.length; i++) decoded[i] = buf.getFloat();
        assertThat(decoded).containsExactly(full);
        // the SDK left to its default format decodes to the same floats
        CreateEmbeddingResponse byDefault = client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").input(text).build());
        assertThat(floats(byDefault.data().get(0).embedding())).containsExactly(full);
    }

    @Test
    void badRequestsAreClear400s() {
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").input("x").dimensions(100000).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("dimensions");
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").input("").build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").input(" hello".repeat(600)).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("context holds 512");
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model("tiny").input("x")
                .putAdditionalBodyProperty("prompt_name", JsonValue.from("query")).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("no prompt named \"query\"");
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model("tiny")
                .inputOfArrayOfTokens(List.of(1L, 1_000_000L)).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("outside the model's vocabulary");
    }

    @Test
    void hostileBodiesAre400sAndTheServerStaysHealthy() throws Exception {
        String[] bodies = {
            "{\"input\":\"x\"}",
            "{\"model\":\"tiny\"}",
            "{\"model\":\"tiny\",\"input\":[]}",
            "{\"model\":\"tiny\",\"input\":[[]]}",
            "{\"model\":\"tiny\",\"input\":{\"a\":1}}",
            "{\"model\":\"tiny\",\"input\":[\"ok\", 3.5]}",
            "{\"model\":\"tiny\",\"input\":[1, \"x\"]}",
            "{\"model\":\"tiny\",\"input\":[-1]}",
            "{\"model\":\"tiny\",\"input\":\"x\",\"encoding_format\":\"int8\"}",
            "{\"model\":\"tiny\",\"input\":\"x\",\"dimensions\":0}",
            "{\"model\":\"tiny\",\"input\":\"x\",\"dimensions\":\"8\"}",
            "{\"model\":\"tiny\",\"input\":[" + "\"a\",".repeat(2048) + "\"a\"]}",
        };
        for (String b : bodies) {
            HttpResponse<String> r = ts.post("/v1/embeddings", b);
            assertThat(r.statusCode()).as(b.length() > 200 ? b.substring(0, 200) : b).isEqualTo(400);
            JsonNode err = JSON.readTree(r.body()).path("error");
            assertThat(err.path("type").asText()).isEqualTo("invalid_request_error");
            assertThat(err.path("message").asText()).isNotBlank();
        }
        assertThat(ts.get("/health").statusCode()).isEqualTo(200);
        assertThat(ts.engine.usedBlocks()).isZero();
    }

    /**
     * A sentence-transformers model's own settings (as its modules.json and config_sentence_transformers.json give them):
     * a named prompt is prepended, mean pooling leaves the prompt's tokens out when include_prompt is false, and an
     * unnormalized model's vectors come raw. Through {@link LocalApi}, the same handling without HTTP.
     */
    @Test
    void theModelsOwnPoolingAndPromptsApply() throws Exception {
        String instruct = "Instruct: Given a web search query, retrieve relevant passages\nQuery:";
        EmbeddingConfig cfg = new EmbeddingConfig(Pooling.MEAN, false, false, Map.of("query", instruct, "document", ""), null, null, "test");
        LocalApi api = new LocalApi(new ServedModel(ts.engine, ts.formatter, GenerationDefaults.NONE, cfg), "st");
        ObjectNode q = JSON.createObjectNode().put("input", "what is RedHare?").put("prompt_name", "query");
        JsonNode r = api.embeddings(q);
        int[] ids = ts.formatter.encode(instruct + "what is RedHare?");
        int skip = ts.formatter.encode(instruct).length - 1;
        float[] want = ts.engine.embed(new EmbeddingRequest(ids, Pooling.MEAN, skip)).awaitEmbedding().vector();
        float[] got = JSON.treeToValue(r.at("/data/0/embedding"), float[].class);
        assertThat(got).containsExactly(want); // raw: this model does not normalize
        assertThat(r.at("/usage/prompt_tokens").asInt()).isEqualTo(ids.length);
        float[] plain = JSON.treeToValue(api.embeddings(JSON.createObjectNode().put("input", "what is RedHare?")).at("/data/0/embedding"), float[].class);
        assertThat(plain).isNotEqualTo(got);
        EmbeddingConfig broken = new EmbeddingConfig(Pooling.LAST, true, true, Map.of(), null, "its module 'Dense' is not run", "test");
        LocalApi refuses = new LocalApi(new ServedModel(ts.engine, ts.formatter, GenerationDefaults.NONE, broken), "dense");
        assertThatThrownBy(() -> refuses.embeddings(JSON.createObjectNode().put("input", "x")))
                .isInstanceOf(ApiException.class).hasMessageContaining("Dense");
    }

    /** A request of more inputs than the engine's queue holds runs them a window at a time instead of being refused. */
    @Test
    void manyMoreInputsThanTheQueueHoldsAllComeBackInOrder() throws Exception {
        try (org.redhare.core.Parallel pool = new org.redhare.core.Parallel(1);
             org.redhare.model.CausalLM m = org.redhare.model.ModelLoader.load(TextModels.qwen3(), pool);
             org.redhare.engine.Engine small = new org.redhare.engine.Engine(m,
                     new org.redhare.engine.EngineConfig(256, 1024, org.redhare.core.attention.KvDtype.F32, 16, 256, 4, false, 4, true))) {
            LocalApi api = new LocalApi(new ServedModel(small, ts.formatter), "tiny");
            ObjectNode body = JSON.createObjectNode();
            var arr = body.putArray("input");
            for (int i = 0; i < 150; i++) {
                arr.addArray().add(10 + i % 7).add(20 + i).add(30 + i % 11);
            }
            JsonNode r = api.embeddings(body);
            assertThat(r.path("data")).hasSize(150);
            for (int i : new int[] {0, 77, 149}) {
                assertThat(r.path("data").get(i).path("index").asInt()).isEqualTo(i);
                float[] raw = small.embed(new EmbeddingRequest(new int[] {10 + i % 7, 20 + i, 30 + i % 11}, Pooling.LAST)).awaitEmbedding().vector();
                assertThat(JSON.treeToValue(r.path("data").get(i).path("embedding"), float[].class))
                        .containsExactly(EmbeddingsApi.finish(raw, null, true));
            }
            assertThat(small.stats().rejected()).isZero();
            assertThat(small.usedBlocks()).isZero();
        }
    }
}
