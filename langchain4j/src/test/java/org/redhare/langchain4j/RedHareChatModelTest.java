package org.redhare.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.TokenStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.engine.Engine;
import org.redhare.engine.EngineConfig;
import org.redhare.model.GenerationDefaults;
import org.redhare.model.ModelLoader;
import org.redhare.server.LocalApi;
import org.redhare.server.PromptFormatter;
import org.redhare.server.PromptFormatters;
import org.redhare.server.ScriptedModel;
import org.redhare.server.ServedModel;
import org.redhare.server.TextModels;
import org.redhare.text.ModelText;

/**
 * LangChain4j's chat models over a model in the same JVM: the tiny Qwen3-shaped model with the real Qwen3 tokenizer
 * and template writes scripted replies ({@link ScriptedModel}), which go through the engine, the detokenizer, the
 * reasoning and tool-call parsers and the grammars exactly as over HTTP, with no server in between.
 */
class RedHareChatModelTest {
    static Parallel pool;
    static Engine engine;
    static ScriptedModel scripted;
    static ModelText text;
    static PromptFormatter formatter;
    static LocalModel model;

    @BeforeAll
    static void up() throws Exception {
        Path dir = TextModels.qwen3();
        pool = new Parallel(1);
        scripted = new ScriptedModel(ModelLoader.load(dir, pool));
        // whole prompts in one step and no prefix cache: what ScriptedModel needs to tell prompt rows from decode rows
        engine = new Engine(scripted, new EngineConfig(1024, 8192, KvDtype.F32, 16, 1024, 4, false, 16, false));
        formatter = PromptFormatters.forModel(dir, "tiny");
        text = ModelText.load(dir).orElseThrow();
        model = LocalModel.of(new LocalApi(new ServedModel(engine, formatter, GenerationDefaults.NONE), "tiny"));
    }

    @AfterAll
    static void down() {
        if (engine != null) engine.close();
        if (scripted != null) scripted.close();
        if (pool != null) pool.close();
    }

    /** The model's next replies, one per request in turn. */
    static void replies(String... texts) {
        scripted.replies(text, texts);
    }

    static int promptTokens(String user) {
        return formatter.renderChat(List.of(Map.of("role", "user", "content", user)), null, Map.of()).ids().length;
    }

    @Test
    void chatTextUsageAndFinishReason() {
        replies("Hello from the same JVM.<|im_end|>");
        ChatModel chat = RedHareChatModel.builder().model(model).temperature(0.0).build();
        ChatResponse r = chat.chat(ChatRequest.builder().messages(UserMessage.from("Hi!")).build());
        assertThat(r.aiMessage().text()).isEqualTo("Hello from the same JVM.");
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(promptTokens("Hi!"));
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(text.encodeRendered("Hello from the same JVM.<|im_end|>").length);
        assertThat(r.modelName()).isEqualTo("tiny");
        assertThat(r.id()).startsWith("chatcmpl-");

        // the builder's limits apply; a request's own parameters win over them
        ChatModel short2 = RedHareChatModel.builder().model(model).maxOutputTokens(2).build();
        ChatResponse cut = short2.chat(ChatRequest.builder().messages(UserMessage.from("Hi!")).build());
        assertThat(cut.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(cut.tokenUsage().outputTokenCount()).isEqualTo(2);
        ChatResponse three = short2.chat(ChatRequest.builder().messages(UserMessage.from("Hi!")).maxOutputTokens(3).build());
        assertThat(three.tokenUsage().outputTokenCount()).isEqualTo(3);

        // stop sequences end the reply before them, and are not part of it
        ChatResponse stopped = RedHareChatModel.builder().model(model).stopSequences(List.of(" same")).build().chat(
                ChatRequest.builder().messages(SystemMessage.from("Be brief."), UserMessage.from("Hi!")).build());
        assertThat(stopped.aiMessage().text()).isEqualTo("Hello from the");
        assertThat(chat.chat("Hi!")).isEqualTo("Hello from the same JVM.");
    }

    @Test
    void thinkingIsReturnedApartFromTheAnswer() {
        replies("<think>\nA greeting; answer it.\n</think>\n\nHello!<|im_end|>");
        ChatResponse r = RedHareChatModel.builder().model(model).build().chat(UserMessage.from("Hi!"));
        assertThat(r.aiMessage().thinking()).isEqualTo("A greeting; answer it.");
        assertThat(r.aiMessage().text()).isEqualTo("Hello!");
        ChatResponse without = RedHareChatModel.builder().model(model).returnThinking(false).build().chat(UserMessage.from("Hi!"));
        assertThat(without.aiMessage().thinking()).isNull();
        assertThat(without.aiMessage().text()).isEqualTo("Hello!");
    }

    /** Collects a streamed reply. */
    static final class Collector implements StreamingChatResponseHandler {
        final List<String> partials = new CopyOnWriteArrayList<>();
        final StringBuilder thinking = new StringBuilder();
        final List<CompleteToolCall> calls = new CopyOnWriteArrayList<>();
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();

        @Override public void onPartialResponse(String partial) { partials.add(partial); }
        @Override public void onPartialThinking(PartialThinking partial) { thinking.append(partial.text()); }
        @Override public void onCompleteToolCall(CompleteToolCall call) { calls.add(call); }
        @Override public void onCompleteResponse(ChatResponse response) { done.complete(response); }
        @Override public void onError(Throwable error) { done.completeExceptionally(error); }

        ChatResponse await() throws Exception {
            return done.get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void streamingSendsTextThinkingAndToolCallsAsTheyCome() throws Exception {
        RedHareStreamingChatModel streaming = RedHareStreamingChatModel.builder().model(model).build();
        replies("<think>\nThey want a story.\n</think>\n\nOnce upon a time, a hare ran.<|im_end|>");
        Collector c = new Collector();
        streaming.chat(ChatRequest.builder().messages(UserMessage.from("A story?")).build(), c);
        ChatResponse r = c.await();
        assertThat(c.partials.size()).isGreaterThan(3);
        assertThat(String.join("", c.partials).strip()).isEqualTo("Once upon a time, a hare ran.");
        assertThat(c.thinking.toString().strip()).isEqualTo("They want a story.");
        assertThat(r.aiMessage().text().strip()).isEqualTo("Once upon a time, a hare ran.");
        assertThat(r.aiMessage().thinking().strip()).isEqualTo("They want a story.");
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(promptTokens("A story?"));
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);

        replies("<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>");
        Collector t = new Collector();
        streaming.chat(ChatRequest.builder().messages(UserMessage.from("Weather in Oslo?")).toolSpecifications(
                dev.langchain4j.agent.tool.ToolSpecification.builder().name("weather").description("The weather of a city")
                        .parameters(dev.langchain4j.model.chat.request.json.JsonObjectSchema.builder().addStringProperty("city")
                                .required("city").build()).build()).build(), t);
        ChatResponse tr = t.await();
        assertThat(t.calls).hasSize(1);
        assertThat(t.calls.get(0).index()).isZero();
        assertThat(t.calls.get(0).toolExecutionRequest().arguments()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(tr.aiMessage().toolExecutionRequests()).extracting(x -> x.name()).containsExactly("weather");
        assertThat(tr.aiMessage().text()).isNull();
        assertThat(tr.finishReason()).isEqualTo(FinishReason.TOOL_EXECUTION);
        assertThat(String.join("", t.partials)).doesNotContain("tool_call");
    }

    /** A tool the AI service may call. */
    static final class Calculator {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Tool("Adds two integers")
        int add(@P(name = "a", value = "the first") int a, @P(name = "b", value = "the second") int b) {
            calls.add(a + "+" + b);
            return a + b;
        }
    }

    interface Assistant {
        String chat(String message);
    }

    interface StreamingAssistant {
        TokenStream chat(String message);
    }

    @Test
    void aiServicesCallJavaToolsPlainAndStreamed() throws Exception {
        Calculator calc = new Calculator();
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(RedHareChatModel.builder().model(model).build()).tools(calc).build();
        replies("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 40}}\n</tool_call><|im_end|>", "2 + 40 = 42.<|im_end|>");
        assertThat(assistant.chat("What is 2 + 40?")).isEqualTo("2 + 40 = 42.");
        assertThat(calc.calls).containsExactly("2+40");

        StreamingAssistant streaming = AiServices.builder(StreamingAssistant.class)
                .streamingChatModel(RedHareStreamingChatModel.builder().model(model).build()).tools(calc).build();
        replies("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 1}}\n</tool_call><|im_end|>", "It is 2.<|im_end|>");
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        StringBuilder streamed = new StringBuilder();
        streaming.chat("1 + 1?").onPartialResponse(streamed::append).onCompleteResponse(done::complete).onError(done::completeExceptionally).start();
        assertThat(done.get(60, TimeUnit.SECONDS).aiMessage().text()).isEqualTo("It is 2.");
        assertThat(streamed.toString()).isEqualTo("It is 2.");
        assertThat(calc.calls).containsExactly("2+40", "1+1");
    }

    record Review(String sentiment, int stars) {}

    interface Reviewer {
        Review read(String review);
    }

    @Test
    void aiServicesReturnRecordsThroughTheSchema() {
        Reviewer reviewer = AiServices.create(Reviewer.class, RedHareChatModel.builder().model(model).build());
        // the words after the document are never written: the grammar ends the reply when the JSON is whole
        replies("{\"sentiment\": \"mixed\", \"stars\": 3} Anything else?<|im_end|>");
        assertThat(reviewer.read("Good food, slow service.")).isEqualTo(new Review("mixed", 3));

        // the schema reached the grammar: the reply is the document alone (LangChain4j's parser would skip extra words)
        dev.langchain4j.model.chat.request.ResponseFormat format = dev.langchain4j.model.chat.request.ResponseFormat.builder()
                .type(dev.langchain4j.model.chat.request.ResponseFormatType.JSON)
                .jsonSchema(dev.langchain4j.model.chat.request.json.JsonSchema.builder().name("review").rootElement(
                        dev.langchain4j.model.chat.request.json.JsonObjectSchema.builder().addStringProperty("sentiment")
                                .addIntegerProperty("stars").required("sentiment", "stars").build()).build()).build();
        ChatResponse r = RedHareChatModel.builder().model(model).build().chat(ChatRequest.builder()
                .messages(UserMessage.from("Good food, slow service.")).responseFormat(format).build());
        assertThat(r.aiMessage().text()).isEqualTo("{\"sentiment\": \"mixed\", \"stars\": 3}");
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void refusalsAreLangChain4jExceptions() throws Exception {
        ChatModel chat = RedHareChatModel.builder().model(model).build();
        replies("Never sent.<|im_end|>");
        assertThatThrownBy(() -> chat.chat("word ".repeat(3000))).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("context holds 1024");
        assertThatThrownBy(() -> chat.chat(UserMessage.from(TextContent.from("Look:"), ImageContent.from("https://example.com/a.png"))))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("text only");
        Collector c = new Collector();
        RedHareStreamingChatModel.builder().model(model).build().chat("word ".repeat(3000), c);
        assertThatThrownBy(c::await).hasCauseInstanceOf(InvalidRequestException.class);
        assertThat(engine.usedBlocks()).isZero();
    }

    @Test
    void aHandlerThatThrowsCancelsItsGeneration() throws Exception {
        replies("one two three four five six seven eight nine ten eleven twelve thirteen fourteen".repeat(20) + "<|im_end|>");
        CompletableFuture<Throwable> failed = new CompletableFuture<>();
        RedHareStreamingChatModel.builder().model(model).build().chat("Count.", new StreamingChatResponseHandler() {
            @Override public void onPartialResponse(String partial) { throw new IllegalStateException("the consumer gave up"); }
            @Override public void onCompleteResponse(ChatResponse response) { failed.complete(null); }
            @Override public void onError(Throwable error) { failed.complete(error); }
        });
        assertThat(failed.get(60, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class).hasMessage("the consumer gave up");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.usedBlocks() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(engine.usedBlocks()).as("the cancelled sequence's KV blocks are free").isZero();
    }

    @Test
    void loadsAModelFromDisk() {
        // the random-weight model as a user would load it: its text is noise, but it runs end to end
        try (LocalModel loaded = LocalModel.builder(TextModels.qwen3()).threads(1).contextLength(256).kvCacheMemory("64MiB").warmUp(false)
                .name("tiny-from-disk").build()) {
            ChatResponse r = RedHareChatModel.builder().model(loaded).maxOutputTokens(5).seed(7L).build().chat(UserMessage.from("Hi!"));
            assertThat(r.modelName()).isEqualTo("tiny-from-disk");
            assertThat(r.tokenUsage().outputTokenCount()).isBetween(1, 5);
            ChatResponse again = RedHareChatModel.builder().model(loaded).maxOutputTokens(5).seed(7L).build().chat(UserMessage.from("Hi!"));
            assertThat(again.aiMessage().text()).as("a seed repeats the reply").isEqualTo(r.aiMessage().text());
        }
        assertThatThrownBy(() -> LocalModel.load(Path.of("/no/such/model"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no model at /no/such/model");
    }
}
