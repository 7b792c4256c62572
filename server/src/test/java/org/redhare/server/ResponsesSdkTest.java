package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.StructuredResponse;
import com.openai.models.responses.StructuredResponseCreateParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.attention.KvDtype;
import org.redhare.engine.EngineConfig;

/**
 * OpenAI's Responses API (POST /v1/responses) through the official Java SDK: text and reasoning output items, whole and
 * streamed as the API's events, usage and incomplete replies, function calls and their outputs across turns, structured
 * output into a Java class, and errors. The tiny Qwen3-shaped model writes scripted replies ({@link ScriptedModel}).
 */
class ResponsesSdkTest {
    static TestServer ts;
    static ScriptedModel scripted;
    static OpenAIClient client;

    @BeforeAll
    static void up() {
        EngineConfig cfg = new EngineConfig(1024, 8192, KvDtype.F32, 16, 1024, 4, false, 16, false); // as ScriptedModel needs
        ts = new TestServer(TextModels.qwen3(), ServerConfig.local("tiny"), cfg, m -> scripted = new ScriptedModel(m));
        client = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "/v1").apiKey("none").maxRetries(0).build();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    static void replies(String... texts) {
        scripted.replies(((ModelTextFormatter) ts.formatter).text(), texts);
    }

    static String outputText(Response r) {
        StringBuilder sb = new StringBuilder();
        r.output().stream().flatMap(i -> i.message().stream()).flatMap(m -> m.content().stream())
                .flatMap(c -> c.outputText().stream()).forEach(t -> sb.append(t.text()));
        return sb.toString();
    }

    static String reasoning(Response r) {
        StringBuilder sb = new StringBuilder();
        r.output().stream().flatMap(i -> i.reasoning().stream()).flatMap(x -> x.content().orElse(List.of()).stream())
                .forEach(c -> sb.append(c.text()));
        return sb.toString();
    }

    @Test
    void textAndReasoningAsOutputItemsWholeAndStreamed() {
        replies("<think>\nA greeting.\n</think>\n\nHello there, friend.<|im_end|>");
        ResponseCreateParams params = ResponseCreateParams.builder().model("tiny").instructions("Be kind.").input("Hi!").build();
        Response r = client.responses().create(params);
        r.validate(); // every field the SDK requires is there, of its type
        assertThat(r.status()).contains(ResponseStatus.COMPLETED);
        assertThat(r.id()).startsWith("resp_");
        assertThat(outputText(r)).isEqualTo("Hello there, friend.");
        assertThat(reasoning(r)).isEqualTo("A greeting.");
        assertThat(r.output()).extracting(i -> i.isReasoning() ? "reasoning" : i.isMessage() ? "message" : "other")
                .containsExactly("reasoning", "message");
        int prompt = ts.formatter.renderChat(List.of(Map.of("role", "system", "content", "Be kind."), Map.of("role", "user", "content", "Hi!")),
                null, Map.of()).ids().length;
        assertThat(r.usage().orElseThrow().inputTokens()).isEqualTo(prompt);
        assertThat(r.usage().orElseThrow().outputTokens()).isPositive();

        StringBuilder text = new StringBuilder();
        StringBuilder thought = new StringBuilder();
        List<String> types = new ArrayList<>();
        Response[] completed = {null};
        long[] lastSequence = {-1};
        try (StreamResponse<ResponseStreamEvent> s = client.responses().createStreaming(params)) {
            s.stream().forEach(e -> {
                e.validate();
                types.add(e.isCreated() ? "created" : e.isCompleted() ? "completed" : e.isOutputItemAdded() ? "added"
                        : e.isOutputItemDone() ? "done" : "other");
                e.outputTextDelta().ifPresent(d -> {
                    text.append(d.delta());
                    assertThat(d.sequenceNumber()).isGreaterThan(lastSequence[0]);
                    lastSequence[0] = d.sequenceNumber();
                });
                e.reasoningTextDelta().ifPresent(d -> thought.append(d.delta()));
                e.completed().ifPresent(c -> completed[0] = c.response());
            });
        }
        assertThat(text.toString()).isEqualTo("Hello there, friend.");
        assertThat(thought.toString().strip()).isEqualTo("A greeting.");
        assertThat(types.get(0)).isEqualTo("created");
        assertThat(types.get(types.size() - 1)).isEqualTo("completed");
        assertThat(types.stream().filter("added"::equals).count()).isEqualTo(2);
        assertThat(outputText(completed[0])).isEqualTo("Hello there, friend.");
        assertThat(completed[0].usage().orElseThrow().inputTokens()).isEqualTo(prompt);
    }

    @Test
    void aReplyCutByMaxOutputTokensIsIncomplete() {
        replies("one two three four five six seven eight<|im_end|>");
        Response r = client.responses().create(ResponseCreateParams.builder().model("tiny").input("Count.").maxOutputTokens(3L).build());
        assertThat(r.status()).contains(ResponseStatus.INCOMPLETE);
        assertThat(r.incompleteDetails().orElseThrow().reason().orElseThrow()).isEqualTo(Response.IncompleteDetails.Reason.MAX_OUTPUT_TOKENS);
        assertThat(r.usage().orElseThrow().outputTokens()).isEqualTo(3);
        assertThat(r.output().get(0).asMessage().status()).isEqualTo(com.openai.models.responses.ResponseOutputMessage.Status.INCOMPLETE);
    }

    static FunctionTool weatherTool() {
        return FunctionTool.builder().name("get_weather").description("Weather of a city").strict(false)
                .parameters(FunctionTool.Parameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city"))).build()).build();
    }

    @Test
    void functionCallsAndTheirOutputsAcrossTurns() {
        replies("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>",
                "It is 18 °C in Paris.<|im_end|>");
        ResponseCreateParams first = ResponseCreateParams.builder().model("tiny").input("Weather in Paris?").addTool(weatherTool()).build();
        Response r = client.responses().create(first);
        r.validate();
        List<ResponseFunctionToolCall> calls = r.output().stream().flatMap(i -> i.functionCall().stream()).toList();
        assertThat(calls).hasSize(1);
        ResponseFunctionToolCall call = calls.get(0);
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(call.arguments()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(call.callId()).startsWith("call_");
        assertThat(r.output()).noneMatch(ResponseOutputItem::isMessage);

        // the next turn sends the conversation back: the user's message, the call, and its output
        List<ResponseInputItem> input = new ArrayList<>();
        input.add(ResponseInputItem.ofEasyInputMessage(com.openai.models.responses.EasyInputMessage.builder()
                .role(com.openai.models.responses.EasyInputMessage.Role.USER).content("Weather in Paris?").build()));
        input.add(ResponseInputItem.ofFunctionCall(call));
        input.add(ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder().callId(call.callId())
                .output("18 °C, sunny").build()));
        Response next = client.responses().create(ResponseCreateParams.builder().model("tiny").inputOfResponse(input).addTool(weatherTool()).build());
        assertThat(outputText(next)).isEqualTo("It is 18 °C in Paris.");
        // the prompt held the call and its output as the template renders them
        Map<String, Object> fn = Map.of("name", "get_weather", "arguments", "{\"city\":\"Paris\"}");
        Map<String, Object> assistant = new java.util.LinkedHashMap<>();
        assistant.put("role", "assistant");
        assistant.put("content", null);
        assistant.put("tool_calls", List.of(Map.of("id", call.callId(), "type", "function", "function", fn)));
        Map<String, Object> params = new java.util.LinkedHashMap<>(); // in the order the SDK sends them: tojson keeps it
        params.put("type", "object");
        params.put("properties", Map.of("city", Map.of("type", "string")));
        params.put("required", List.of("city"));
        Map<String, Object> function = new java.util.LinkedHashMap<>();
        function.put("name", "get_weather");
        function.put("description", "Weather of a city");
        function.put("parameters", params);
        Map<String, Object> tool = new java.util.LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        PromptFormatter.ChatPrompt cp = ts.formatter.renderChat(List.of(Map.of("role", "user", "content", "Weather in Paris?"), assistant,
                Map.of("role", "tool", "tool_call_id", call.callId(), "content", "18 °C, sunny")), List.of(tool), Map.of());
        assertThat(cp.text()).contains("<tool_response>\n18 °C, sunny\n</tool_response>");
        assertThat(next.usage().orElseThrow().inputTokens()).isEqualTo(cp.ids().length);
    }

    record Verdict(String label, long score) {}

    @Test
    void structuredOutputIntoAJavaClass() {
        replies("{\"label\": \"good\", \"score\": 8} and some more words<|im_end|>");
        StructuredResponseCreateParams<Verdict> p = ResponseCreateParams.builder().model("tiny").input("Judge: nice.").text(Verdict.class).build();
        StructuredResponse<Verdict> r = client.responses().create(p);
        List<Verdict> verdicts = r.output().stream().flatMap(i -> i.message().stream()).flatMap(m -> m.content().stream())
                .flatMap(c -> c.outputText().stream()).toList();
        assertThat(verdicts).containsExactly(new Verdict("good", 8));
    }

    /** The same API in process ({@link LocalApi}): a response whole and as events, and a completion. */
    @Test
    void theSameInProcess() throws Exception {
        LocalApi local = new LocalApi(new ServedModel(ts.engine, ts.formatter), "tiny");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        replies("<think>\nShort.\n</think>\n\nIn process.<|im_end|>");
        var r = local.response(json.readTree("{\"input\": \"Hi\"}"));
        assertThat(r.path("output").get(1).path("content").get(0).path("text").asText()).isEqualTo("In process.");
        assertThat(r.path("output").get(0).path("type").asText()).isEqualTo("reasoning");
        StringBuilder deltas = new StringBuilder();
        List<String> types = new ArrayList<>();
        local.responseStream(json.readTree("{\"input\": \"Hi\"}"), e -> {
            types.add(e.path("type").asText());
            if (e.path("type").asText().equals("response.output_text.delta")) {
                deltas.append(e.path("delta").asText());
            }
        });
        assertThat(deltas.toString()).isEqualTo("In process.");
        assertThat(types).startsWith("response.created").endsWith("response.completed");
        replies("completed text<|im_end|>");
        var c = local.completion(json.readTree("{\"prompt\": \"Say these three words please\", \"max_tokens\": 3}"));
        assertThat(c.path("choices").get(0).path("text").asText()).isEqualTo("completed text");
        assertThatThrownBy(() -> local.response(json.readTree("{\"input\": \"Hi\", \"stream\": true}"))).isInstanceOf(ApiException.class)
                .hasMessageContaining("streaming call");
    }

    @Test
    void whatCannotBeServedIsAClearError() {
        assertThatThrownBy(() -> client.responses().create(ResponseCreateParams.builder().model("tiny").input("Hi")
                .previousResponseId("resp_123").build())).isInstanceOf(BadRequestException.class)
                .hasMessageContaining("send the whole conversation in 'input'");
        assertThatThrownBy(() -> client.responses().create(ResponseCreateParams.builder().model("tiny").input("Hi")
                .addTool(com.openai.models.responses.WebSearchTool.builder().type(com.openai.models.responses.WebSearchTool.Type.WEB_SEARCH).build())
                .build())).isInstanceOf(BadRequestException.class).hasMessageContaining("only function tools");
        replies("Still fine.<|im_end|>");
        assertThat(outputText(client.responses().create(ResponseCreateParams.builder().model("tiny").input("Hi").build()))).isEqualTo("Still fine.");
    }
}
