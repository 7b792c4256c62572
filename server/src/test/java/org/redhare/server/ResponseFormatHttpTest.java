package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.attention.KvDtype;
import org.redhare.engine.EngineConfig;

/**
 * {@code response_format}: on a model of random weights, whose unconstrained output is noise, every reply is JSON of
 * the asked shape; bad formats are 400s.
 */
class ResponseFormatHttpTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static TestServer ts;

    static final String SCHEMA = """
            {"type": "object", "properties": {
              "answer": {"enum": ["yes", "no", "maybe"]},
              "confidence": {"type": "integer"},
              "sure": {"type": "boolean"},
              "note": {"type": ["null", "boolean"]},
              "scores": {"type": "array", "items": {"type": "number"}, "maxItems": 3},
              "detail": {"type": "object", "properties": {"level": {"enum": [1, 2, 3]}}, "required": ["level"], "additionalProperties": false}
            }, "required": ["answer", "confidence", "sure", "scores", "detail"], "additionalProperties": false}
            """;

    @BeforeAll
    static void up() {
        ts = TestServer.text();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    /** Thinking off: Qwen3's template would let the reply open a think block, and a random model's reasoning never ends. */
    static final String NO_THINKING = ",\"chat_template_kwargs\":{\"enable_thinking\":false}";

    private static JsonNode chat(String extra) throws Exception {
        HttpResponse<String> r = ts.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Answer in JSON\"}],"
                + "\"max_tokens\":400" + NO_THINKING + extra + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static String schemaFormat() {
        return ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"verdict\",\"strict\":true,\"schema\":" + SCHEMA + "}}";
    }

    @Test
    void repliesFitTheSchema() throws Exception {
        for (String sampling : new String[] {",\"temperature\":0", ",\"temperature\":1.0,\"seed\":1", ",\"temperature\":1.0,\"seed\":2",
                ",\"temperature\":0.7,\"top_k\":5,\"seed\":3", ",\"temperature\":1.0,\"repetition_penalty\":1.3,\"seed\":4"}) {
            JsonNode o = chat(sampling + schemaFormat());
            JsonNode c = o.path("choices").get(0);
            String content = c.path("message").path("content").asText();
            assertThat(c.path("finish_reason").asText()).as(content).isEqualTo("stop");
            JsonNode v = JSON.readTree(content);
            assertThat(v.path("answer").asText()).as(content).isIn("yes", "no", "maybe");
            assertThat(v.path("confidence").isIntegralNumber()).as(content).isTrue();
            assertThat(v.path("sure").isBoolean()).isTrue();
            if (v.has("note")) {
                assertThat(v.get("note").isNull() || v.get("note").isBoolean()).as(content).isTrue();
            }
            assertThat(v.path("scores").isArray()).isTrue();
            assertThat(v.path("scores").size()).isLessThanOrEqualTo(3);
            v.path("scores").forEach(x -> assertThat(x.isNumber()).isTrue());
            assertThat(v.path("detail").path("level").asInt()).isBetween(1, 3);
            assertThat(o.path("usage").path("completion_tokens").asInt()).isPositive();
        }
    }

    @Test
    void jsonObjectRepliesAreObjectsAndStreamTheSame() throws Exception {
        String format = ",\"temperature\":1.0,\"seed\":11,\"response_format\":{\"type\":\"json_object\"}";
        JsonNode o = chat(format);
        JsonNode c = o.path("choices").get(0);
        String content = c.path("message").path("content").asText();
        if (c.path("finish_reason").asText().equals("stop")) {
            assertThat(JSON.readTree(content).isObject()).as(content).isTrue();
        } else {
            assertThat(content).startsWith("{"); // cut by max_tokens: the beginning of an object
        }
        HttpResponse<String> r = ts.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Answer in JSON\"}],"
                + "\"max_tokens\":400,\"stream\":true" + NO_THINKING + format + "}");
        StringBuilder streamed = new StringBuilder();
        for (String event : CompletionsHttpTest.sseEvents(r.body())) {
            if (!event.equals("[DONE]")) {
                JsonNode d = JSON.readTree(event).path("choices").path(0).path("delta").path("content");
                if (d.isTextual()) {
                    streamed.append(d.asText());
                }
            }
        }
        assertThat(streamed.toString()).isEqualTo(content);
    }

    @Test
    void completionsTakeItToo() throws Exception {
        HttpResponse<String> r = ts.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"JSON:\",\"max_tokens\":400,\"temperature\":0"
                + schemaFormat() + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode c = JSON.readTree(r.body()).path("choices").get(0);
        assertThat(c.path("finish_reason").asText()).isEqualTo("stop");
        assertThat(JSON.readTree(c.path("text").asText()).path("answer").asText()).isIn("yes", "no", "maybe");
    }

    /**
     * A template that opens the think block (DeepSeek-R1's way): the model reasons freely and the JSON starts after
     * {@code </think>}; the reasoning comes back as reasoning_content, the JSON as the content, and the reply ends when
     * the JSON is whole.
     */
    @Test
    void theJsonStartsAfterTheReasoning() throws Exception {
        EngineConfig cfg = new EngineConfig(1024, 8192, KvDtype.F32, 16, 1024, 4, false, 16, false); // as ScriptedModel needs
        ScriptedModel[] scripted = new ScriptedModel[1];
        try (TestServer t = new TestServer(TextModels.thinking(), ServerConfig.local("tiny"), cfg, m -> scripted[0] = new ScriptedModel(m))) {
            int[] reasoning = t.formatter.encode("The user wants {JSON}, so: ok");
            int[] close = t.formatter.encode("</think>");
            int[] json = t.formatter.encode("{\"ok\": true, \"n\": [1, 2]}");
            int[] script = java.util.stream.IntStream.concat(java.util.stream.IntStream.concat(java.util.Arrays.stream(reasoning),
                    java.util.Arrays.stream(close)), java.util.stream.IntStream.concat(java.util.Arrays.stream(json),
                    java.util.Arrays.stream(t.formatter.encode(" and more text")))).toArray();
            scripted[0].script(script);
            HttpResponse<String> r = t.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                    + "\"max_tokens\":100,\"temperature\":0,\"response_format\":{\"type\":\"json_object\"}}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode c = JSON.readTree(r.body()).path("choices").get(0);
            assertThat(c.path("message").path("reasoning_content").asText()).isEqualTo("The user wants {JSON}, so: ok");
            assertThat(c.path("message").path("content").asText()).isEqualTo("{\"ok\": true, \"n\": [1, 2]}");
            assertThat(c.path("finish_reason").asText()).isEqualTo("stop");
            assertThat(JSON.readTree(r.body()).path("usage").path("completion_tokens").asInt())
                    .as("nothing after the JSON").isEqualTo(reasoning.length + close.length + json.length);
        }
    }

    /**
     * Qwen3's own template leaves the think block to the reply: the reply may open it with its first token, reason freely,
     * and write the JSON after {@code </think>} and the blank line the model puts there. With {@code enable_thinking}
     * false the template closes an empty block in the prompt, and the reply must be the JSON at once.
     */
    @Test
    void aReplyThatOpensItsOwnThinkBlockReasonsFirst() throws Exception {
        EngineConfig cfg = new EngineConfig(1024, 8192, KvDtype.F32, 16, 1024, 4, false, 16, false); // as ScriptedModel needs
        ScriptedModel[] scripted = new ScriptedModel[1];
        try (TestServer t = new TestServer(TextModels.qwen3(), ServerConfig.local("tiny"), cfg, m -> scripted[0] = new ScriptedModel(m))) {
            ModelTextFormatter f = (ModelTextFormatter) t.formatter;
            String reply = "<think>\nThey want {\"ok\": ...}; fine.\n</think>\n\n{\"ok\": true} That is all.<|im_end|>";
            scripted[0].script(f.text().encodeRendered(reply));
            String body = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":60,\"temperature\":0,"
                    + "\"response_format\":{\"type\":\"json_object\"}";
            HttpResponse<String> r = t.post("/v1/chat/completions", body + "}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode c = JSON.readTree(r.body()).path("choices").get(0);
            assertThat(c.path("message").path("reasoning_content").asText()).isEqualTo("They want {\"ok\": ...}; fine.");
            assertThat(c.path("message").path("content").asText()).isEqualTo("{\"ok\": true}");
            assertThat(c.path("finish_reason").asText()).isEqualTo("stop");

            // thinking off: the prompt closed an empty block, so the reply cannot open one; it is JSON from its first token
            HttpResponse<String> off = t.post("/v1/chat/completions", body + ",\"chat_template_kwargs\":{\"enable_thinking\":false}}");
            assertThat(off.statusCode()).as(off.body()).isEqualTo(200);
            JsonNode m = JSON.readTree(off.body()).path("choices").get(0).path("message");
            assertThat(m.path("reasoning_content").isMissingNode() || m.path("reasoning_content").isNull()).as(off.body()).isTrue();
            assertThat(m.path("content").asText()).startsWith("{");
        }
    }

    @Test
    void formatsThatCannotBeHonouredAreClearErrors() throws Exception {
        String base = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":4,\"response_format\":";
        HttpResponse<String> r = ts.post("/v1/chat/completions", base + "{\"type\":\"xml\"}}");
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode e = JSON.readTree(r.body()).path("error");
        assertThat(e.path("param").asText()).isEqualTo("response_format");
        assertThat(e.path("message").asText()).contains("'text', 'json_object' or 'json_schema'").contains("xml");
        r = ts.post("/v1/chat/completions", base + "{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"string\"}}}}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("root must be an object or an array");
        r = ts.post("/v1/chat/completions", base + "{\"type\":\"json_schema\"}}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("json_schema");
        r = ts.post("/v1/chat/completions", base + "\"json\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        try (TestServer ids = TestServer.fixture()) {
            r = ids.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":[1,2,3],\"max_tokens\":4,\"response_format\":{\"type\":\"json_object\"}}");
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).contains("needs the model's tokenizer");
        }
        assertThat(ts.get("/health").statusCode()).isEqualTo(200);
    }

    /** Hostile schemas are refused or served, and the server serves a plain request as before afterwards. */
    @Test
    void hostileSchemasLeaveTheServerWell() throws Exception {
        String base = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":8,\"temperature\":0,"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":";
        String deep = "{\"type\":\"object\",\"properties\":{\"a\":".repeat(300) + "{\"type\":\"integer\"}" + "}}".repeat(300);
        StringBuilder bigEnum = new StringBuilder("{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":[");
        for (int i = 0; i < 20000; i++) {
            bigEnum.append(i == 0 ? "" : ",").append('"').append("v").append(i).append('"');
        }
        bigEnum.append("]}},\"required\":[\"a\"]}");
        String[] schemas = {"{\"$ref\":\"#\"}", "{\"$defs\":{\"A\":{\"$ref\":\"#/$defs/B\"},\"B\":{\"$ref\":\"#/$defs/A\"}},\"$ref\":\"#/$defs/A\"}",
            "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"minItems\":5,\"maxItems\":2}}}", "[1]", "{\"type\":7}",
            deep, bigEnum.toString(), "{\"type\":\"object\",\"properties\":{\"n\":{\"$ref\":\"#\"}}}"};
        for (String schema : schemas) {
            HttpResponse<String> r = ts.post("/v1/chat/completions", base + schema + "}}}");
            assertThat(r.statusCode()).as(schema.length() > 200 ? schema.substring(0, 200) : schema).isIn(200, 400);
            if (r.statusCode() == 400) {
                assertThat(JSON.readTree(r.body()).path("error").path("param").asText()).isEqualTo("response_format");
            }
        }
        HttpResponse<String> ok = ts.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"max_tokens\":4}");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ts.get("/health").statusCode()).isEqualTo(200);
    }
}
