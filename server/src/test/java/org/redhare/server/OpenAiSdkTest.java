package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.testing.SharedFiles;
import org.redhare.engine.EngineConfig;
import org.redhare.engine.GenerationEvent;
import org.redhare.engine.GenerationHandle;
import org.redhare.engine.GenerationRequest;
import org.redhare.engine.SamplingParams;
import org.redhare.text.template.ReasoningParser;

/**
 * The official OpenAI Java SDK as the client, against a tiny random model with the real Qwen3 tokenizer and
 * chat template: chat (plain, streamed, logprobs, stop, template kwargs, tools), completions with logprobs,
 * usage, reasoning_content, and typed errors including 429 from a full engine queue.
 */
class OpenAiSdkTest {
    static TestServer ts;
    static OpenAIClient client;

    @BeforeAll
    static void up() {
        ts = TestServer.text(ServerConfig.local("tiny").withApiKey("sekrit"));
        client = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "/v1").apiKey("sekrit").maxRetries(0).build();
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    private static ChatCompletionCreateParams chat(int maxTokens) {
        return ChatCompletionCreateParams.builder().model("tiny").addSystemMessage("You are terse.").addUserMessage("Hello!")
                .maxCompletionTokens(maxTokens).temperature(0.0).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
    }

    private static List<Map<String, Object>> messages() {
        return List.of(Map.of("role", "system", "content", "You are terse."), Map.of("role", "user", "content", "Hello!"));
    }

    /** The engine's own greedy run of a prompt: every event, for comparison with what the server reports. */
    private static List<GenerationEvent.Token> engineTokens(TestServer s, int[] prompt, int n, int top) throws Exception {
        GenerationHandle h = s.engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, n, Set.of(), true, top, false));
        List<GenerationEvent.Token> out = new ArrayList<>();
        h.stream(out::add);
        return out;
    }

    private static int[] ids(List<GenerationEvent.Token> toks) {
        return toks.stream().mapToInt(GenerationEvent.Token::id).toArray();
    }

    @Test
    void plainAndStreamedChatAgreeWithTheEngineThroughTheTemplate() throws Exception {
        ChatCompletion c = client.chat().completions().create(chat(10));
        String text = c.choices().get(0).message().content().orElseThrow();
        int[] prompt = ts.formatter.renderChat(messages(), null, Map.of()).ids();
        assertThat(text).isEqualTo(ts.formatter.decode(ids(engineTokens(ts, prompt, 10, 0)))).isNotEmpty();
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.LENGTH);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(10);
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(prompt.length);

        StringBuilder streamed = new StringBuilder();
        long[] usage = {-1};
        ChatCompletionCreateParams sp = chat(10).toBuilder().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(sp)) {
            s.stream().forEach(chunk -> {
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append));
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        assertThat(streamed.toString()).isEqualTo(text);
        assertThat(usage[0]).isEqualTo(10);
    }

    @Test
    void chatLogprobsEqualTheEnginesWithTokenBytes() throws Exception {
        ChatCompletion c = client.chat().completions().create(chat(6).toBuilder().logprobs(true).topLogprobs(3).build());
        List<ChatCompletionTokenLogprob> lps = c.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        List<GenerationEvent.Token> engine = engineTokens(ts, ts.formatter.renderChat(messages(), null, Map.of()).ids(), 6, 3);
        assertThat(lps).hasSize(6);
        for (int i = 0; i < 6; i++) {
            GenerationEvent.Token t = engine.get(i);
            ChatCompletionTokenLogprob lp = lps.get(i);
            assertThat(lp.token()).isEqualTo(ts.formatter.tokenText(t.id()));
            assertThat((float) lp.logprob()).isEqualTo(t.logprob());
            byte[] bytes = ts.formatter.tokenBytes(t.id());
            assertThat(lp.bytes().orElseThrow()).hasSize(bytes.length);
            for (int b = 0; b < bytes.length; b++) {
                assertThat(lp.bytes().orElseThrow().get(b)).isEqualTo(bytes[b] & 0xFF);
            }
            assertThat(lp.topLogprobs()).hasSize(3);
            for (int k = 0; k < 3; k++) {
                assertThat(lp.topLogprobs().get(k).token()).isEqualTo(ts.formatter.tokenText(t.top().get(k).id()));
                assertThat((float) lp.topLogprobs().get(k).logprob()).isEqualTo(t.top().get(k).logprob());
            }
            // greedy: the chosen token is the most likely one
            assertThat(t.top().get(0).id()).isEqualTo(t.id());
        }
    }

    @Test
    void completionWithTextPromptLogprobsAndStop() throws Exception {
        CompletionCreateParams p = CompletionCreateParams.builder().model("tiny").prompt("Write a poem about the sea.")
                .maxTokens(12L).temperature(0.0).logprobs(2L).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
        Completion full = client.completions().create(p);
        var choice = full.choices().get(0);
        int[] prompt = ts.formatter.encode("Write a poem about the sea.");
        List<GenerationEvent.Token> engine = engineTokens(ts, prompt, 12, 2);
        assertThat(choice.text()).isEqualTo(ts.formatter.decode(ids(engine)));
        List<Double> lps = choice.logprobs().orElseThrow().tokenLogprobs().orElseThrow();
        assertThat(lps).hasSize(12);
        for (int i = 0; i < 12; i++) {
            assertThat(lps.get(i).floatValue()).isEqualTo(engine.get(i).logprob());
        }
        assertThat(choice.logprobs().orElseThrow().tokens().orElseThrow())
                .isEqualTo(engine.stream().map(t -> ts.formatter.tokenText(t.id())).toList());
        assertThat(full.usage().orElseThrow().promptTokens()).isEqualTo(prompt.length);
        assertThat(full.usage().orElseThrow().completionTokens()).isEqualTo(12);
        assertThat(full.usage().orElseThrow().totalTokens()).isEqualTo(prompt.length + 12);

        String text = choice.text();
        String stop = text.substring(text.length() / 2, text.length() / 2 + 3);
        Completion cut = client.completions().create(p.toBuilder().stop(stop).build());
        assertThat(cut.choices().get(0).text()).isEqualTo(text.substring(0, text.indexOf(stop)));
        assertThat(cut.choices().get(0).finishReason().asString()).isEqualTo("stop");
    }

    @Test
    void chatStopSequenceCutsPlainAndStreamed() {
        String text = client.chat().completions().create(chat(16)).choices().get(0).message().content().orElseThrow();
        String stop = text.substring(text.length() / 2, text.length() / 2 + 2);
        String expected = text.substring(0, text.indexOf(stop));
        ChatCompletionCreateParams p = chat(16).toBuilder().stop(stop).build();
        ChatCompletion c = client.chat().completions().create(p);
        assertThat(c.choices().get(0).message().content().orElseThrow()).isEqualTo(expected);
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
        }
        assertThat(streamed.toString()).isEqualTo(expected);
    }

    @Test
    void templateKwargsAndToolsReachTheTemplate() {
        // Qwen3's template closes an empty think block in the prompt when enable_thinking is false.
        ChatCompletion off = client.chat().completions().create(chat(2).toBuilder()
                .putAdditionalBodyProperty("chat_template_kwargs", JsonValue.from(Map.of("enable_thinking", false))).build());
        int[] offIds = ts.formatter.renderChat(messages(), null, Map.of("enable_thinking", false)).ids();
        int[] onIds = ts.formatter.renderChat(messages(), null, Map.of()).ids();
        assertThat(offIds.length).isGreaterThan(onIds.length);
        assertThat(off.usage().orElseThrow().promptTokens()).isEqualTo(offIds.length);

        FunctionDefinition fn = FunctionDefinition.builder().name("get_weather").description("Weather of a city")
                .parameters(FunctionParameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string")))).build()).build();
        ChatCompletion withTools = client.chat().completions().create(chat(2).toBuilder()
                .addTool(ChatCompletionFunctionTool.builder().function(fn).build()).build());
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
        String rendered = ts.formatter.renderChat(messages(), List.of(tool), Map.of()).text();
        assertThat(rendered).contains("<tools>").contains("get_weather");
        assertThat(withTools.usage().orElseThrow().promptTokens()).isEqualTo(((ModelTextFormatter) ts.formatter).text().encodeRendered(rendered).length);
    }

    public enum Mood { HAPPY, SAD, UNSURE }

    /** A date too: the SDK's schema says "format": "date", and only that format's grammar makes a random model write one Java parses. */
    public record Verdict(Mood mood, int score, boolean sure, List<Mood> history, java.time.LocalDate since) {}

    /**
     * Structured outputs as the SDK does them: a Java class becomes the response_format's JSON schema and the reply is
     * read back into it. The model's weights are random, so only the constraint makes the reply fit.
     */
    @Test
    void structuredOutputsIntoAJavaClass() {
        for (double temperature : new double[] {0.0, 1.0}) {
            var params = ChatCompletionCreateParams.builder().model("tiny").addUserMessage("How do you feel?").maxCompletionTokens(300)
                    .temperature(temperature).seed(5L).responseFormat(Verdict.class).build();
            var reply = client.chat().completions().create(params);
            var choice = reply.choices().get(0);
            assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
            Verdict v = choice.message().content().orElseThrow();
            assertThat(v.mood()).isNotNull();
            assertThat(v.history()).doesNotContainNull();
            assertThat(v.since()).isNotNull();
        }
    }

    @Test
    void reasoningContentWhenTheTemplateOpensTheThinkBlock() throws Exception {
        try (TestServer thinking = new TestServer(TextModels.thinking(), ServerConfig.local("tiny"), TestServer.engineConfig())) {
            OpenAIClient c = OpenAIOkHttpClient.builder().baseUrl(thinking.base() + "/v1").apiKey("none").maxRetries(0).build();
            PromptFormatter.ChatPrompt cp = thinking.formatter.renderChat(messages(), null, Map.of());
            assertThat(cp.text()).endsWith("<think>\n");
            String generated = thinking.formatter.decode(ids(engineTokens(thinking, cp.ids(), 8, 0)));
            ReasoningParser.Result expected = ReasoningParser.forPrompt(cp.text()).parse(generated);
            // A random model never writes </think>: the whole reply is reasoning (what the test can show end to end;
            // ReplyTextTest checks the split of a closed block on real Qwen3 tokens).
            assertThat(expected.reasoning()).isNotEmpty();
            assertThat(expected.content()).isEmpty();

            ChatCompletion plain = c.chat().completions().create(chat(8));
            var msg = plain.choices().get(0).message();
            assertThat(msg._additionalProperties().get("reasoning_content").asString().orElseThrow()).isEqualTo(expected.reasoning());
            assertThat(msg.content().orElse("")).isEmpty();

            StringBuilder reasoning = new StringBuilder();
            StringBuilder content = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> s = c.chat().completions().createStreaming(chat(8))) {
                s.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                    ch.delta().content().ifPresent(content::append);
                    JsonValue r = ch.delta()._additionalProperties().get("reasoning_content");
                    if (r != null) reasoning.append(r.asString().orElseThrow());
                }));
            }
            assertThat(reasoning.toString()).isEqualTo(expected.reasoning());
            assertThat(content.toString()).isEmpty();
        }
    }

    /** A repeated long system prompt is served from the prefix cache, and usage says how much of it, as OpenAI reports it. */
    @Test
    void cachedPromptTokensAreReported() {
        String system = "You answer questions about the weather in one short sentence, never more. ".repeat(6);
        ChatCompletionCreateParams p = ChatCompletionCreateParams.builder().model("tiny").addSystemMessage(system).addUserMessage("Hi")
                .maxCompletionTokens(2).temperature(0.0).build();
        long promptTokens = client.chat().completions().create(p).usage().orElseThrow().promptTokens();
        ChatCompletion again = client.chat().completions().create(p.toBuilder().messages(List.of()).addSystemMessage(system)
                .addUserMessage("Hello there").build());
        long cached = again.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
        assertThat(cached).as("whole blocks of the shared system prompt").isPositive().isLessThan(promptTokens).matches(c -> c % 16 == 0);
        // an unrelated prompt finds nothing cached
        ChatCompletion other = client.chat().completions().create(p.toBuilder().messages(List.of()).addUserMessage("Something else").build());
        assertThat(other.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow()).isZero();
    }

    @Test
    void errorsComeBackTyped() {
        OpenAIClient wrongKey = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "/v1").apiKey("wrong").maxRetries(0).build();
        assertThatThrownBy(() -> wrongKey.chat().completions().create(chat(4))).isInstanceOf(UnauthorizedException.class)
                .hasMessageContaining("invalid API key");
        // Prompt longer than the context (512 tokens): 400 naming the fix.
        String longText = "word ".repeat(600);
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny")
                .addUserMessage(longText).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("context holds 512");
        assertThatThrownBy(() -> client.chat().completions().create(chat(4).toBuilder().temperature(5.0).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("temperature");
    }

    @Test
    void fullEngineQueueAnswers429WithRetryAfter() {
        // One running sequence and one waiting place: of three choices submitted at once, one cannot be queued.
        EngineConfig small = new EngineConfig(512, 8192, KvDtype.F32, 16, 256, 1, false, 1, true);
        try (TestServer busy = new TestServer(SharedFiles.require("fixtures/qwen3-tiny"), ServerConfig.local("tiny"), small)) {
            OpenAIClient c = OpenAIOkHttpClient.builder().baseUrl(busy.base() + "/v1").apiKey("none").maxRetries(0).build();
            CompletionCreateParams p = CompletionCreateParams.builder().model("tiny")
                    .prompt(CompletionCreateParams.Prompt.ofArrayOfTokens(List.of(5L, 17L, 300L))).maxTokens(300L).n(3L)
                    .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
            // Several rounds: the choices of a refused request must be gone from the queue when the client hears "busy",
            // so that a retry right after it finds room (the engine drops cancelled sequences only at its next step).
            for (int round = 1; round <= 8; round++) {
                assertThatThrownBy(() -> c.completions().create(p)).isInstanceOfSatisfying(RateLimitException.class, e -> {
                    assertThat(e.getMessage()).contains("busy");
                    assertThat(e.headers().values("Retry-After")).isNotEmpty();
                });
                assertThat(busy.engine.stats().rejected()).isEqualTo(round);
                // the server keeps serving: a lone request goes through
                Completion ok = c.completions().create(p.toBuilder().n(1L).maxTokens(3L).build());
                assertThat(ok.usage().orElseThrow().completionTokens()).isEqualTo(3);
            }
        }
    }

    /**
     * reasoning_effort as open models take it: "none" and "minimal" turn Qwen3's thinking off as enable_thinking=false
     * does (the same prompt, token for token), the others leave the prompt as it was; chat_template_kwargs wins; the
     * Responses API's reasoning.effort does the same; a value OpenAI does not define is a 400.
     */
    @Test
    void reasoningEffortSwitchesAHybridModelsThinking() throws Exception {
        String msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
        java.util.function.Function<String, String> tokens = extra -> {
            try {
                var r = ts.post("/tokenize", "{" + msgs + extra + "}", "Authorization", "Bearer sekrit");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body()).path("tokens").toString();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        String plain = tokens.apply("");
        String off = tokens.apply(",\"chat_template_kwargs\":{\"enable_thinking\":false}");
        assertThat(off).isNotEqualTo(plain);
        assertThat(tokens.apply(",\"reasoning_effort\":\"none\"")).isEqualTo(off);
        assertThat(tokens.apply(",\"reasoning_effort\":\"minimal\"")).isEqualTo(off);
        assertThat(tokens.apply(",\"reasoning_effort\":\"high\"")).isEqualTo(plain);
        assertThat(tokens.apply(",\"reasoning_effort\":\"none\",\"chat_template_kwargs\":{\"enable_thinking\":true}")).isEqualTo(plain);
        var bad = ts.post("/v1/chat/completions", "{\"model\":\"tiny\"," + msgs + ",\"reasoning_effort\":\"extreme\"}",
                "Authorization", "Bearer sekrit");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("reasoning_effort").contains("none, minimal, low, medium, high");
        // the Responses API: the prompt with thinking off is longer by the empty think block the template adds
        LocalApi local = new LocalApi(new ServedModel(ts.engine, ts.formatter), "tiny");
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var req = json.readTree("{\"input\":\"Hi\",\"max_output_tokens\":1}");
        var reqOff = json.readTree("{\"input\":\"Hi\",\"max_output_tokens\":1,\"reasoning\":{\"effort\":\"none\"}}");
        int offLength = new com.fasterxml.jackson.databind.ObjectMapper().readTree(off).size();
        assertThat(local.response(reqOff).at("/usage/input_tokens").asInt()).isEqualTo(offLength)
                .isGreaterThan(local.response(req).at("/usage/input_tokens").asInt());
    }
}
