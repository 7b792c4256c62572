package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.engine.GenerationRequest;
import org.redhare.engine.SamplingParams;

/** /v1/completions with token-id prompts over plain HTTP: JSON shape, SSE framing, greedy equality with the engine. */
class CompletionsHttpTest {
    static TestServer ts;
    static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "[5, 17, 300, 42, 1000, 7, 99]";

    @BeforeAll
    static void up() {
        ts = TestServer.fixture();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    static int[] engineGreedy(int n) throws Exception {
        int[] prompt = {5, 17, 300, 42, 1000, 7, 99};
        var r = ts.engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, n, java.util.Set.of(), true)).await();
        return r.tokens();
    }

    @Test
    void greedyCompletionMatchesEngineAndReportsUsage() throws Exception {
        HttpResponse<String> r = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":" + PROMPT
                + ",\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode o = JSON.readTree(r.body());
        assertThat(o.path("object").asText()).isEqualTo("text_completion");
        assertThat(o.path("model").asText()).isEqualTo("tiny");
        JsonNode c = o.path("choices").get(0);
        assertThat(c.path("finish_reason").asText()).isEqualTo("length");
        assertThat(c.path("text").asText()).isEqualTo(new ByteFallbackFormatter(2048).decode(engineGreedy(8)));
        assertThat(o.path("usage").path("prompt_tokens").asInt()).isEqualTo(7);
        assertThat(o.path("usage").path("completion_tokens").asInt()).isEqualTo(8);
        assertThat(o.path("usage").path("total_tokens").asInt()).isEqualTo(15);
    }

    @Test
    void streamedCompletionConcatenatesToTheSameTextAndEndsWithDone() throws Exception {
        HttpResponse<String> plain = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":" + PROMPT
                + ",\"max_tokens\":12,\"temperature\":0,\"ignore_eos\":true}");
        HttpResponse<String> r = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":" + PROMPT
                + ",\"max_tokens\":12,\"temperature\":0,\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<String> events = new ArrayList<>();
        for (String block : r.body().split("\n\n")) {
            if (block.startsWith("data: ")) events.add(block.substring(6));
        }
        assertThat(events.getLast()).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode o = JSON.readTree(e);
            if (o.has("usage") && !o.get("usage").isNull()) usage = o.get("usage");
            for (JsonNode ch : o.path("choices")) {
                text.append(ch.path("text").asText());
                if (!ch.path("finish_reason").isNull()) finish = ch.path("finish_reason").asText();
            }
        }
        assertThat(text.toString()).isEqualTo(JSON.readTree(plain.body()).path("choices").get(0).path("text").asText());
        assertThat(finish).isEqualTo("length");
        assertThat(usage).isNotNull();
        assertThat(usage.path("completion_tokens").asInt()).isEqualTo(12);
    }

    @Test
    void stopStringTruncatesAndNeverLeaks() throws Exception {
        HttpResponse<String> plain = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":" + PROMPT
                + ",\"max_tokens\":16,\"temperature\":0,\"ignore_eos\":true}");
        String full = JSON.readTree(plain.body()).path("choices").get(0).path("text").asText();
        assertThat(full.length()).isGreaterThan(8);
        // A stop string made of the middle of the text, spanning several tokens.
        int from = full.length() / 3;
        String stop = full.substring(from, Math.min(full.length(), from + 6));
        String expected = full.substring(0, full.indexOf(stop));
        for (boolean stream : new boolean[] {false, true}) {
            HttpResponse<String> r = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":" + PROMPT
                    + ",\"max_tokens\":16,\"temperature\":0,\"ignore_eos\":true,\"stream\":" + stream + ",\"stop\":[" + JSON.writeValueAsString(stop) + "]}");
            assertThat(r.statusCode()).isEqualTo(200);
            StringBuilder text = new StringBuilder();
            String finish = null;
            if (stream) {
                for (String block : r.body().split("\n\n")) {
                    if (!block.startsWith("data: {")) continue;
                    JsonNode ch = JSON.readTree(block.substring(6)).path("choices").get(0);
                    text.append(ch.path("text").asText());
                    if (!ch.path("finish_reason").isNull()) finish = ch.path("finish_reason").asText();
                }
            } else {
                JsonNode ch = JSON.readTree(r.body()).path("choices").get(0);
                text.append(ch.path("text").asText());
                finish = ch.path("finish_reason").asText();
            }
            assertThat(text.toString()).as("stream=" + stream).isEqualTo(expected);
            assertThat(finish).isEqualTo("stop");
        }
    }

    @Test
    void nChoicesWithSeedAreReproducible() throws Exception {
        String body = "{\"model\":\"tiny\",\"prompt\":" + PROMPT + ",\"max_tokens\":6,\"temperature\":1.0,\"seed\":7,\"n\":3,\"ignore_eos\":true}";
        JsonNode a = JSON.readTree(ts.post("/v1/completions", body).body());
        JsonNode b = JSON.readTree(ts.post("/v1/completions", body).body());
        assertThat(a.path("choices")).hasSize(3);
        assertThat(a.path("choices")).isEqualTo(b.path("choices"));
        assertThat(a.path("usage").path("completion_tokens").asInt()).isEqualTo(18);
        assertThat(a.path("usage").path("prompt_tokens").asInt()).isEqualTo(7);
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        JsonNode models = JSON.readTree(ts.get("/v1/models").body());
        assertThat(models.path("data").get(0).path("id").asText()).isEqualTo("tiny");
        assertThat(ts.get("/health").statusCode()).isEqualTo(200);
        ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"max_tokens\":3,\"ignore_eos\":true}");
        String metrics = ts.get("/metrics").body();
        assertThat(metrics).contains("redhare_requests_total{endpoint=\"completions\",status=\"200\"}")
                .contains("redhare_time_to_first_token_seconds").contains("redhare_kv_blocks_capacity").contains("redhare_generation_tokens_total");
    }
}
