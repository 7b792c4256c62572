package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.attention.KvDtype;
import org.redhare.engine.EngineConfig;

/**
 * Tool calling end to end through the official OpenAI Java SDK: the tiny Qwen3-shaped model with the real Qwen3
 * tokenizer and template, made to write scripted replies ({@link ScriptedModel}), so the call text really is generated
 * token by token, decoded, parsed and sent as OpenAI's tool_calls, plain and streamed.
 */
class ToolCallsSdkTest {
    static TestServer ts;
    static ScriptedModel scripted;
    static OpenAIClient client;

    @BeforeAll
    static void up() {
        // whole prompts in one step and no prefix cache: what ScriptedModel needs to tell prompt rows from decode rows
        EngineConfig cfg = new EngineConfig(1024, 8192, KvDtype.F32, 16, 1024, 4, false, 16, false);
        ts = new TestServer(TextModels.qwen3(), ServerConfig.local("tiny"), cfg, m -> scripted = new ScriptedModel(m));
        client = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "/v1").apiKey("none").maxRetries(0).build();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    /** The model's next replies: this text (special-token text such as <|im_end|> becomes those tokens). */
    static void reply(String text) {
        scripted.script(((ModelTextFormatter) ts.formatter).text().encodeRendered(text));
    }

    static final String WEATHER_CALL = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"°C\"}}\n</tool_call>";

    static ChatCompletionCreateParams request() {
        FunctionDefinition fn = FunctionDefinition.builder().name("get_weather").description("Weather of a city")
                .parameters(FunctionParameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string")))).build()).build();
        return ChatCompletionCreateParams.builder().model("tiny").addUserMessage("What is the weather in Paris?")
                .addTool(ChatCompletionFunctionTool.builder().function(fn).build()).maxCompletionTokens(100).build();
    }

    record Streamed(String content, List<ChatCompletionChunk.Choice.Delta.ToolCall> calls, ChatCompletionChunk.Choice.FinishReason finish) {}

    static Streamed stream(ChatCompletionCreateParams p) {
        StringBuilder content = new StringBuilder();
        List<ChatCompletionChunk.Choice.Delta.ToolCall> calls = new ArrayList<>();
        ChatCompletionChunk.Choice.FinishReason[] finish = {null};
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                ch.delta().content().ifPresent(content::append);
                ch.delta().toolCalls().ifPresent(calls::addAll);
                ch.finishReason().ifPresent(f -> finish[0] = f);
            }));
        }
        return new Streamed(content.toString(), calls, finish[0]);
    }

    static ChatCompletionMessageFunctionToolCall onlyCall(ChatCompletionMessage m) {
        assertThat(m.toolCalls().orElseThrow()).hasSize(1);
        return m.toolCalls().orElseThrow().get(0).asFunction();
    }

    @Test
    void aCallComesBackAsToolCallsPlainAndStreamed() {
        reply(WEATHER_CALL + "<|im_end|>");
        ChatCompletion c = client.chat().completions().create(request());
        ChatCompletion.Choice choice = c.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        assertThat(choice.message().content()).isEmpty();
        ChatCompletionMessageFunctionToolCall call = onlyCall(choice.message());
        assertThat(call.id()).matches("call_[A-Za-z0-9]{24}");
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(call.function().arguments()).isEqualTo("{\"city\":\"Paris\",\"unit\":\"°C\"}");

        Streamed s = stream(request());
        assertThat(s.finish()).isEqualTo(ChatCompletionChunk.Choice.FinishReason.TOOL_CALLS);
        assertThat(s.content()).isEmpty(); // nothing of the call text leaks as content
        assertThat(s.calls()).hasSize(1);
        ChatCompletionChunk.Choice.Delta.ToolCall d = s.calls().get(0);
        assertThat(d.index()).isZero();
        assertThat(d.id().orElseThrow()).matches("call_[A-Za-z0-9]{24}");
        assertThat(d.function().orElseThrow().name()).contains("get_weather");
        assertThat(d.function().orElseThrow().arguments()).contains("{\"city\":\"Paris\",\"unit\":\"°C\"}");
    }

    @Test
    void textBeforeTwoCallsIsContentAndCallsAreIndexed() {
        reply("Let me check both.\n" + WEATHER_CALL + "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>");
        ChatCompletion c = client.chat().completions().create(request());
        ChatCompletionMessage m = c.choices().get(0).message();
        assertThat(m.content()).contains("Let me check both.");
        assertThat(m.toolCalls().orElseThrow()).extracting(t -> t.asFunction().function().arguments())
                .containsExactly("{\"city\":\"Paris\",\"unit\":\"°C\"}", "{\"city\":\"Oslo\"}");
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);

        Streamed s = stream(request());
        assertThat(s.content()).isEqualTo("Let me check both.");
        assertThat(s.calls()).extracting(ChatCompletionChunk.Choice.Delta.ToolCall::index).containsExactly(0L, 1L);
        assertThat(s.calls().get(1).function().orElseThrow().arguments()).contains("{\"city\":\"Oslo\"}");
    }

    @Test
    void followUpWithTheToolResultRendersAndCompletes() {
        reply(WEATHER_CALL + "<|im_end|>");
        ChatCompletion first = client.chat().completions().create(request());
        ChatCompletionMessage assistant = first.choices().get(0).message();
        String id = onlyCall(assistant).id();

        reply("It is 18 °C and sunny in Paris.<|im_end|>");
        ChatCompletionCreateParams next = request().toBuilder().addMessage(assistant)
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(id).content("18 °C, sunny").build()).build();
        ChatCompletion c = client.chat().completions().create(next);
        assertThat(c.choices().get(0).message().content()).contains("It is 18 °C and sunny in Paris.");
        assertThat(c.choices().get(0).message().toolCalls()).isEmpty();
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);

        // The server rendered the call with its arguments as an object (not a string quoted twice) and the tool result.
        Map<String, Object> fn = new LinkedHashMap<>();
        fn.put("name", "get_weather");
        fn.put("arguments", "{\"city\":\"Paris\",\"unit\":\"°C\"}");
        Map<String, Object> asst = new LinkedHashMap<>();
        asst.put("role", "assistant");
        asst.put("content", null);
        asst.put("tool_calls", List.of(Map.of("id", id, "type", "function", "function", fn)));
        List<Map<String, Object>> msgs = List.of(Map.of("role", "user", "content", "What is the weather in Paris?"), asst,
                Map.of("role", "tool", "tool_call_id", id, "content", "18 °C, sunny"));
        PromptFormatter.ChatPrompt cp = ts.formatter.renderChat(msgs, List.of(weatherTool()), Map.of());
        assertThat(cp.text()).contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"°C\"}}\n</tool_call>")
                .contains("<tool_response>\n18 °C, sunny\n</tool_response>");
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(cp.ids().length);
    }

    static Map<String, Object> weatherTool() {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("type", "object");
        params.put("properties", Map.of("city", Map.of("type", "string")));
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", "get_weather");
        function.put("description", "Weather of a city");
        function.put("parameters", params);
        Map<String, Object> tool = new LinkedHashMap<>(); // in the order the SDK sends it: tojson keeps key order
        tool.put("function", function);
        tool.put("type", "function");
        return tool;
    }

    @Test
    void aCallMarkerInsideTheReasoningIsNotACall() {
        // Qwen3 thinks first; writing the marker while it thinks opens no call (the parser reads calls in the answer only)
        reply("<think>\nMaybe <tool_call> get_weather, or just answer.\n</think>\n\nIt is sunny.<|im_end|>");
        ChatCompletion c = client.chat().completions().create(request());
        ChatCompletionMessage m = c.choices().get(0).message();
        assertThat(m.toolCalls()).isEmpty();
        assertThat(m.content()).contains("It is sunny.");
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);

        // and a call after the reasoning is held to the tool's schema as ever
        reply("<think>\nI need the weather.\n</think>\n\n" + WEATHER_CALL + "<|im_end|>");
        ChatCompletion call = client.chat().completions().create(request());
        assertThat(onlyCall(call.choices().get(0).message()).function().arguments()).isEqualTo("{\"city\":\"Paris\",\"unit\":\"°C\"}");
    }

    @Test
    void toolChoiceNoneLeavesToolsOutAndTheReplyAsText() {
        reply(WEATHER_CALL + "<|im_end|>");
        ChatCompletion c = client.chat().completions().create(request().toBuilder().toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).build());
        assertThat(c.choices().get(0).message().toolCalls()).isEmpty();
        assertThat(c.choices().get(0).message().content()).contains(WEATHER_CALL);
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        int withoutTools = ts.formatter.renderChat(List.of(Map.of("role", "user", "content", "What is the weather in Paris?")), null, Map.of()).ids().length;
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(withoutTools);
    }

    @Test
    void namedToolChoicePrefillsTheCallWhichTheReplyCompletes() {
        // the prompt already ends with the start of the call; the model writes only its arguments and the close
        reply("{\"city\": \"Rome\"}}\n</tool_call><|im_end|>");
        ChatCompletionCreateParams p = request().toBuilder().toolChoice(ChatCompletionNamedToolChoice.builder()
                .function(ChatCompletionNamedToolChoice.Function.builder().name("get_weather").build()).build()).build();
        ChatCompletion c = client.chat().completions().create(p);
        ChatCompletionMessageFunctionToolCall call = onlyCall(c.choices().get(0).message());
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(call.function().arguments()).isEqualTo("{\"city\":\"Rome\"}");
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        PromptFormatter.ChatPrompt cp = ts.formatter.renderChat(List.of(Map.of("role", "user", "content", "What is the weather in Paris?")),
                List.of(weatherTool()), Map.of(), new ToolChoice(ToolChoice.Mode.FUNCTION, "get_weather"));
        assertThat(cp.text()).endsWith("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ");
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(cp.ids().length);

        Streamed s = stream(p);
        assertThat(s.calls()).hasSize(1);
        assertThat(s.calls().get(0).function().orElseThrow().arguments()).contains("{\"city\":\"Rome\"}");
        assertThat(s.finish()).isEqualTo(ChatCompletionChunk.Choice.FinishReason.TOOL_CALLS);
    }

    @Test
    void badToolChoiceIsA400NamingTheFix() {
        ChatCompletionCreateParams unknown = request().toBuilder().toolChoice(ChatCompletionNamedToolChoice.builder()
                .function(ChatCompletionNamedToolChoice.Function.builder().name("get_time").build()).build()).build();
        assertThatThrownBy(() -> client.chat().completions().create(unknown)).isInstanceOf(BadRequestException.class)
                .hasMessageContaining("get_time").hasMessageContaining("not among the request's 'tools'");
        ChatCompletionCreateParams requiredWithoutTools = ChatCompletionCreateParams.builder().model("tiny").addUserMessage("Hi")
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build();
        assertThatThrownBy(() -> client.chat().completions().create(requiredWithoutTools)).isInstanceOf(BadRequestException.class)
                .hasMessageContaining("needs at least one tool");
    }
}
