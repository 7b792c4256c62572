package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.engine.GenerationEvent;
import org.redhare.engine.GenerationHandle;
import org.redhare.engine.GenerationRequest;
import org.redhare.engine.SamplingParams;

/**
 * /v1/completions over plain HTTP: JSON shape, SSE framing, greedy equality with the engine, real text through
 * the Qwen3 tokenizer, /tokenize and /detokenize; and a model without a tokenizer serving token ids only.
 */
class CompletionsHttpTest {
    static TestServer ts;     // real tokenizer
    static TestServer ids;    // no tokenizer
    static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "[5, 17, 300, 42, 1000, 7, 99]";

    @BeforeAll
    static void up() {
        ts = TestServer.text();
        ids = TestServer.fixture();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
        if (ids != null) ids.close();
    }

    static int[] engineGreedy(TestServer s, int[] prompt, int n) throws Exception {
        return s.engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, n, Set.of(), true)).await().tokens();
    }

    static List<String> sseEvents(String body) {
        List<String> events = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (block.startsWith("data: ")) events.add(block.substring(6));
        }
        return events;
    }

    @Test
    void greedyTextCompletionMatchesEngineThroughTheTokenizer() throws Exception {
        HttpResponse<String> r = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"The capital of France is\","
                + "\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode o = JSON.readTree(r.body());
        assertThat(o.path("object").asText()).isEqualTo("text_completion");
        assertThat(o.path("model").asText()).isEqualTo("tiny");
        JsonNode c = o.path("choices").get(0);
        assertThat(c.path("finish_reason").asText()).isEqualTo("length");
        int[] prompt = ts.formatter.encode("The capital of France is");
        assertThat(prompt).hasSize(5); // "The", " capital", " of", " France", " is" (Qwen adds no BOS)
        String expected = ts.formatter.decode(engineGreedy(ts, prompt, 8));
        assertThat(expected).isNotEmpty();
        assertThat(c.path("text").asText()).isEqualTo(expected);
        assertThat(o.path("usage").path("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(o.path("usage").path("completion_tokens").asInt()).isEqualTo(8);
        assertThat(o.path("usage").path("total_tokens").asInt()).isEqualTo(13);
    }

    @Test
    void streamedCompletionConcatenatesToTheSameTextAndEndsWithDone() throws Exception {
        HttpResponse<String> plain = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":" + PROMPT
                + ",\"max_tokens\":12,\"temperature\":0,\"ignore_eos\":true}");
        HttpResponse<String> r = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":" + PROMPT
                + ",\"max_tokens\":12,\"temperature\":0,\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<String> events = sseEvents(r.body());
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
        String full = JSON.readTree(plain.body()).path("choices").get(0).path("text").asText();
        assertThat(full).isNotEmpty();
        assertThat(text.toString()).isEqualTo(full);
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
        // A stop string made of the middle of the text, likely spanning several tokens.
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
                for (String e : sseEvents(r.body())) {
                    if (!e.startsWith("{")) continue;
                    JsonNode ch = JSON.readTree(e).path("choices").get(0);
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
    void echoWithLogprobsReportsThePromptLogprobsTheEngineComputes() throws Exception {
        String prompt = "Once upon a time";
        HttpResponse<String> r = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"" + prompt + "\",\"max_tokens\":4,"
                + "\"temperature\":0,\"ignore_eos\":true,\"echo\":true,\"logprobs\":2}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode c = JSON.readTree(r.body()).path("choices").get(0);
        int[] ids = ts.formatter.encode(prompt);
        GenerationHandle h = ts.engine.submit(new GenerationRequest(ids, SamplingParams.GREEDY, 4, Set.of(), true, 2, true));
        GenerationEvent.Prompt pe = null;
        List<GenerationEvent.Token> gen = new ArrayList<>();
        for (GenerationEvent e = h.next(); !(e instanceof GenerationEvent.Finished); e = h.next()) {
            if (e instanceof GenerationEvent.Prompt p) pe = p;
            if (e instanceof GenerationEvent.Token t) gen.add(t);
        }
        assertThat(pe).isNotNull();
        int[] genIds = gen.stream().mapToInt(GenerationEvent.Token::id).toArray();
        assertThat(c.path("text").asText()).isEqualTo(prompt + ts.formatter.decode(genIds));
        JsonNode lp = c.path("logprobs");
        assertThat(lp.path("tokens")).hasSize(ids.length + 4);
        assertThat(lp.path("token_logprobs").get(0).isNull()).isTrue(); // nothing precedes the first prompt token
        assertThat(lp.path("top_logprobs").get(0).isNull()).isTrue();
        for (int i = 1; i < ids.length; i++) {
            assertThat(lp.path("tokens").get(i).asText()).isEqualTo(ts.formatter.tokenText(ids[i]));
            assertThat((float) lp.path("token_logprobs").get(i).asDouble()).isEqualTo(pe.logprobs()[i]);
            assertThat(lp.path("top_logprobs").get(i).size()).isBetween(1, 2);
            String best = ts.formatter.tokenText(pe.top().get(i).get(0).id());
            assertThat((float) lp.path("top_logprobs").get(i).path(best).asDouble()).isEqualTo(pe.top().get(i).get(0).logprob());
        }
        for (int i = 0; i < 4; i++) {
            assertThat(lp.path("tokens").get(ids.length + i).asText()).isEqualTo(ts.formatter.tokenText(genIds[i]));
            assertThat((float) lp.path("token_logprobs").get(ids.length + i).asDouble()).isEqualTo(gen.get(i).logprob());
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
    void tokenizeAndDetokenizeUseTheModelsTokenizer() throws Exception {
        JsonNode t = JSON.readTree(ts.post("/tokenize", "{\"prompt\":\"Hello world<|im_end|>\"}").body());
        // "Hello", " world", and the special token parsed as one id
        assertThat(t.path("tokens").toString()).isEqualTo("[9707,1879,151645]");
        assertThat(t.path("count").asInt()).isEqualTo(3);
        JsonNode d = JSON.readTree(ts.post("/detokenize", "{\"tokens\":[9707,1879]}").body());
        assertThat(d.path("prompt").asText()).isEqualTo("Hello world");
        JsonNode chat = JSON.readTree(ts.post("/tokenize", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").body());
        assertThat(chat.path("count").asInt()).isEqualTo(ts.formatter.renderChat(
                List.of(java.util.Map.of("role", "user", "content", "Hi")), null, java.util.Map.of()).ids().length);
        JsonNode noThink = JSON.readTree(ts.post("/tokenize", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"chat_template_kwargs\":{\"enable_thinking\":false}}").body());
        // Qwen3's template writes an empty think block when thinking is off: the kwargs reach the template
        assertThat(noThink.path("count").asInt()).isEqualTo(ts.formatter.renderChat(List.of(java.util.Map.of("role", "user", "content", "Hi")),
                null, java.util.Map.of("enable_thinking", false)).ids().length).isGreaterThan(chat.path("count").asInt());
    }

    @Test
    void modelWithoutTokenizerServesTokenIdsOnly() throws Exception {
        HttpResponse<String> r = ids.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":" + PROMPT
                + ",\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true,\"logprobs\":0}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode c = JSON.readTree(r.body()).path("choices").get(0);
        assertThat(c.path("text").asText()).isEmpty();
        int[] expected = engineGreedy(ids, new int[] {5, 17, 300, 42, 1000, 7, 99}, 8);
        List<String> tokens = new ArrayList<>();
        c.path("logprobs").path("tokens").forEach(x -> tokens.add(x.asText()));
        assertThat(tokens).isEqualTo(java.util.Arrays.stream(expected).mapToObj(i -> "token_id:" + i).toList());

        HttpResponse<String> text = ids.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"hello\"}");
        assertThat(text.statusCode()).isEqualTo(400);
        assertThat(text.body()).contains("has no tokenizer").contains("array of token ids");
        HttpResponse<String> chat = ids.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(chat.statusCode()).isEqualTo(400);
        assertThat(chat.body()).contains("chat is not available");
        assertThat(ids.post("/detokenize", "{\"tokens\":[1,2]}").statusCode()).isEqualTo(400);
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        JsonNode models = JSON.readTree(ts.get("/v1/models").body());
        assertThat(models.path("data").get(0).path("id").asText()).isEqualTo("tiny");
        assertThat(ts.get("/health").statusCode()).isEqualTo(200);
        // The same prompt twice: the second finds the first's full blocks in the prefix cache.
        String body = "{\"model\":\"tiny\",\"prompt\":" + "[" + "11,".repeat(40) + "12],\"max_tokens\":3,\"ignore_eos\":true}";
        ts.post("/v1/completions", body);
        ts.post("/v1/completions", body);
        String metrics = ts.get("/metrics").body();
        assertThat(metrics).contains("redhare_requests_total{endpoint=\"completions\",status=\"200\"}")
                .contains("redhare_time_to_first_token_seconds").contains("redhare_kv_blocks_capacity").contains("redhare_generation_tokens_total")
                .contains("redhare_queue_waiting").contains("redhare_sequences_running").contains("redhare_kv_blocks_used");
        double hitRate = metricValue(metrics, "redhare_prefix_cache_hit_rate");
        assertThat(hitRate).isEqualTo(ts.engine.stats().prefixHitTokens() / (double) ts.engine.stats().prefixQueriedTokens());
        assertThat(hitRate).isGreaterThan(0);
        // the two requests' batches: at least their prompts (the second's past the cached blocks) and their six tokens
        assertThat(metricValue(metrics, "redhare_engine_steps")).isGreaterThanOrEqualTo(6);
        assertThat(metricValue(metrics, "redhare_engine_step_tokens")).isGreaterThanOrEqualTo(41 + 6);
        double forward = metricValue(metrics, "redhare_engine_forward_seconds");
        assertThat(forward).isPositive();
        assertThat(metricValue(metrics, "redhare_engine_busy_seconds")).isGreaterThanOrEqualTo(forward);
    }

    static double metricValue(String scrape, String name) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        throw new AssertionError("no metric " + name + " in:\n" + scrape);
    }
}
