package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.attention.KvDtype;
import org.redhare.engine.EngineConfig;

/**
 * LangChain4j, the Java teams' usual LLM library, as the client: its OpenAI chat models (plain and streaming), its AI
 * services with a Java method as a tool and a record as the structured result, reasoning returned as thinking, and
 * errors. The tiny Qwen3-shaped model with the real Qwen3 tokenizer and template writes scripted replies
 * ({@link ScriptedModel}), so every reply is generated token by token, decoded, parsed and sent as any other.
 */
class LangChain4jTest {
    static TestServer ts;
    static ScriptedModel scripted;

    @BeforeAll
    static void up() {
        // whole prompts in one step and no prefix cache: what ScriptedModel needs to tell prompt rows from decode rows
        EngineConfig cfg = new EngineConfig(1024, 8192, KvDtype.F32, 16, 1024, 4, false, 16, false);
        ts = new TestServer(TextModels.qwen3(), ServerConfig.local("tiny").withApiKey("sekrit"), cfg, m -> scripted = new ScriptedModel(m));
    }

    @AfterAll
    static void down() {
        if (ts != null) ts.close();
    }

    /** The model's next replies, one per request in turn (special-token text such as <|im_end|> becomes those tokens). */
    static void replies(String... texts) {
        scripted.replies(((ModelTextFormatter) ts.formatter).text(), texts);
    }

    static OpenAiChatModel.OpenAiChatModelBuilder chatModel() {
        return OpenAiChatModel.builder().baseUrl(ts.base() + "/v1").apiKey("sekrit").modelName("tiny").maxRetries(0);
    }

    static OpenAiStreamingChatModel.OpenAiStreamingChatModelBuilder streamingModel() {
        return OpenAiStreamingChatModel.builder().baseUrl(ts.base() + "/v1").apiKey("sekrit").modelName("tiny");
    }

    /** Prompt tokens of a system and user message as the server renders them. */
    static int promptTokens(String system, String user) {
        return ts.formatter.renderChat(List.of(Map.of("role", "system", "content", system), Map.of("role", "user", "content", user)),
                null, Map.of()).ids().length;
    }

    @Test
    void chatReplyUsageAndFinishReason() {
        replies("Hello from RedHare.<|im_end|>");
        ChatModel model = chatModel().temperature(0.0).build();
        ChatResponse r = model.chat(ChatRequest.builder().messages(SystemMessage.from("You are terse."), UserMessage.from("Hi!")).build());
        assertThat(r.aiMessage().text()).isEqualTo("Hello from RedHare.");
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(promptTokens("You are terse.", "Hi!"));
        int replyTokens = ((ModelTextFormatter) ts.formatter).text().encodeRendered("Hello from RedHare.<|im_end|>").length;
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(replyTokens);
        assertThat(r.modelName()).isEqualTo("tiny");

        // max tokens cut the reply: finish reason length
        ChatResponse cut = chatModel().maxCompletionTokens(2).build().chat(ChatRequest.builder().messages(UserMessage.from("Hi!")).build());
        assertThat(cut.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(cut.tokenUsage().outputTokenCount()).isEqualTo(2);
        assertThat("Hello from RedHare.").startsWith(cut.aiMessage().text());

        // the one-line convenience the tutorials start with
        assertThat(model.chat("Hi!")).isEqualTo("Hello from RedHare.");
    }

    /** Collects a streamed reply: partial texts, partial thinking, the final response or the error. */
    static final class Collector implements StreamingChatResponseHandler {
        final List<String> partials = new ArrayList<>();
        final StringBuilder thinking = new StringBuilder();
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();

        @Override
        public void onPartialResponse(String partial) {
            partials.add(partial);
        }

        @Override
        public void onPartialThinking(PartialThinking partial) {
            thinking.append(partial.text());
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            done.complete(response);
        }

        @Override
        public void onError(Throwable error) {
            done.completeExceptionally(error);
        }

        ChatResponse await() throws Exception {
            return done.get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void streamedReplyArrivesInPiecesWithUsage() throws Exception {
        String text = "Streaming works, token by token, to the end.";
        replies(text + "<|im_end|>");
        StreamingChatModel model = streamingModel().build();
        Collector c = new Collector();
        model.chat(ChatRequest.builder().messages(SystemMessage.from("You are terse."), UserMessage.from("Stream, please.")).build(), c);
        ChatResponse r = c.await();
        assertThat(c.partials.size()).isGreaterThan(3);
        assertThat(String.join("", c.partials)).isEqualTo(text);
        assertThat(r.aiMessage().text()).isEqualTo(text);
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(promptTokens("You are terse.", "Stream, please."));
        assertThat(r.tokenUsage().outputTokenCount()).isPositive();
    }

    @Test
    void reasoningComesBackAsThinkingPlainAndStreamed() throws Exception {
        replies("<think>\nThe user greets me; greet back.\n</think>\n\nHello!<|im_end|>");
        ChatResponse r = chatModel().returnThinking(true).build().chat(ChatRequest.builder().messages(UserMessage.from("Hi!")).build());
        assertThat(r.aiMessage().thinking()).isEqualTo("The user greets me; greet back.");
        assertThat(r.aiMessage().text()).isEqualTo("Hello!");

        Collector c = new Collector();
        streamingModel().returnThinking(true).build().chat(ChatRequest.builder().messages(UserMessage.from("Hi!")).build(), c);
        ChatResponse s = c.await();
        assertThat(c.thinking.toString().strip()).isEqualTo("The user greets me; greet back.");
        assertThat(String.join("", c.partials).strip()).isEqualTo("Hello!");
        assertThat(s.aiMessage().text()).isEqualTo("Hello!");

        // a client that does not ask for thinking gets the answer alone
        ChatResponse plain = chatModel().build().chat(ChatRequest.builder().messages(UserMessage.from("Hi!")).build());
        assertThat(plain.aiMessage().text()).isEqualTo("Hello!");
        assertThat(plain.aiMessage().thinking()).isNull();
    }

    /** A tool the AI service may call: LangChain4j describes it to the model from this signature. */
    static final class WeatherTools {
        final List<String> asked = new ArrayList<>();

        @Tool("The current weather of a city")
        String weather(@P(name = "city", value = "the city's name") String city) {
            asked.add(city);
            return "18 °C and sunny in " + city;
        }
    }

    interface Assistant {
        String chat(String message);
    }

    @Test
    void aiServiceCallsAJavaToolAndAnswersWithItsResult() {
        WeatherTools tools = new WeatherTools();
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(chatModel().build()).tools(tools).build();
        replies("<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>",
                "It is 18 °C and sunny in Paris.<|im_end|>");
        String answer = assistant.chat("What is the weather in Paris?");
        assertThat(tools.asked).containsExactly("Paris");
        assertThat(answer).isEqualTo("It is 18 °C and sunny in Paris.");
    }

    @Test
    void streamedToolCallReachesTheHandler() throws Exception {
        replies("<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>");
        dev.langchain4j.agent.tool.ToolSpecification spec = dev.langchain4j.agent.tool.ToolSpecification.builder().name("weather")
                .description("The current weather of a city")
                .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();
        Collector c = new Collector();
        streamingModel().build().chat(ChatRequest.builder().messages(UserMessage.from("Weather in Oslo?")).toolSpecifications(spec).build(), c);
        ChatResponse r = c.await();
        AiMessage m = r.aiMessage();
        assertThat(m.hasToolExecutionRequests()).isTrue();
        assertThat(m.toolExecutionRequests()).hasSize(1);
        assertThat(m.toolExecutionRequests().get(0).name()).isEqualTo("weather");
        assertThat(m.toolExecutionRequests().get(0).arguments()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(m.toolExecutionRequests().get(0).id()).startsWith("call_");
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_EXECUTION);
        assertThat(String.join("", c.partials)).doesNotContain("tool_call");
    }

    /** A structured result: LangChain4j derives a JSON schema from the record and parses the reply into it. */
    record Verdict(String label, int score) {}

    interface Judge {
        Verdict judge(String review);
    }

    @Test
    void aiServiceReturnsARecordThroughTheSchema() {
        ChatModel model = chatModel().supportedCapabilities(Capability.RESPONSE_FORMAT_JSON_SCHEMA).strictJsonSchema(true).build();
        Judge judge = AiServices.create(Judge.class, model);
        // the text after the document is never written: the grammar ends the reply when the JSON is whole
        replies("{\"label\": \"positive\", \"score\": 9} I hope this helps!<|im_end|>");
        assertThat(judge.judge("Great food, slow service.")).isEqualTo(new Verdict("positive", 9));
    }

    @Test
    void jsonSchemaResponseFormatEndsTheReplyWithTheDocument() {
        ResponseFormat format = ResponseFormat.builder().type(ResponseFormatType.JSON).jsonSchema(JsonSchema.builder().name("verdict")
                .rootElement(JsonObjectSchema.builder().addStringProperty("label").addIntegerProperty("score").required("label", "score").build())
                .build()).build();
        replies("{\"label\": \"negative\", \"score\": 2}\n\nThat is my verdict.<|im_end|>");
        ChatResponse r = chatModel().build().chat(ChatRequest.builder().messages(UserMessage.from("Judge: awful.")).responseFormat(format).build());
        // "}\n\n" is one token: it closes the document (whitespace may follow a document), and the reply ends there
        assertThat(r.aiMessage().text()).isEqualTo("{\"label\": \"negative\", \"score\": 2}\n\n");
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);

        // without a format the same script writes on past the document
        ChatResponse free = chatModel().build().chat(ChatRequest.builder().messages(UserMessage.from("Judge: awful.")).build());
        assertThat(free.aiMessage().text()).isEqualTo("{\"label\": \"negative\", \"score\": 2}\n\nThat is my verdict.");
    }

    /** LangChain4j's clients of OpenAI's Responses API work against /v1/responses too: text, streaming, and a tool loop. */
    @Test
    void responsesApiModelsChatStreamAndCallTools() throws Exception {
        dev.langchain4j.model.openai.OpenAiResponsesChatModel model = dev.langchain4j.model.openai.OpenAiResponsesChatModel.builder()
                .baseUrl(ts.base() + "/v1").apiKey("sekrit").modelName("tiny").build();
        replies("Responses work.<|im_end|>");
        ChatResponse r = model.chat(ChatRequest.builder().messages(SystemMessage.from("Be brief."), UserMessage.from("Hi!")).build());
        assertThat(r.aiMessage().text()).isEqualTo("Responses work.");
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(promptTokens("Be brief.", "Hi!"));

        replies("Streaming through responses, piece by piece.<|im_end|>");
        Collector c = new Collector();
        dev.langchain4j.model.openai.OpenAiResponsesStreamingChatModel.builder().baseUrl(ts.base() + "/v1").apiKey("sekrit")
                .modelName("tiny").build().chat(ChatRequest.builder().messages(UserMessage.from("Stream?")).build(), c);
        ChatResponse s = c.await();
        assertThat(String.join("", c.partials)).isEqualTo("Streaming through responses, piece by piece.");
        assertThat(c.partials.size()).isGreaterThan(3);
        assertThat(s.aiMessage().text()).isEqualTo("Streaming through responses, piece by piece.");

        WeatherTools tools = new WeatherTools();
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(model).tools(tools).build();
        replies("<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Lima\"}}\n</tool_call><|im_end|>",
                "It is 18 °C and sunny in Lima.<|im_end|>");
        assertThat(assistant.chat("Weather in Lima?")).isEqualTo("It is 18 °C and sunny in Lima.");
        assertThat(tools.asked).containsExactly("Lima");
    }

    @Test
    void errorsReachTheCallerAsLangChain4jExceptions() {
        replies("Never sent.<|im_end|>");
        String huge = "word ".repeat(3000); // far beyond the 1024-token context
        assertThatThrownBy(() -> chatModel().build().chat(huge)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("context");
        ChatModel wrongKey = OpenAiChatModel.builder().baseUrl(ts.base() + "/v1").apiKey("wrong").modelName("tiny").maxRetries(0).build();
        assertThatThrownBy(() -> wrongKey.chat("Hi!")).isInstanceOf(dev.langchain4j.exception.AuthenticationException.class);
        // the server still answers afterwards
        replies("Still here.<|im_end|>");
        assertThat(chatModel().build().chat("Hi!")).isEqualTo("Still here.");
    }

    /** LangChain4j's OpenAI embedding model against /v1/embeddings: the vectors are the engine's, normalized, in order. */
    @Test
    void openAiEmbeddingModelEmbedsThroughTheServer() throws Exception {
        dev.langchain4j.model.openai.OpenAiEmbeddingModel m = dev.langchain4j.model.openai.OpenAiEmbeddingModel.builder()
                .baseUrl(ts.base() + "/v1").apiKey("sekrit").modelName("tiny").build();
        List<String> texts = List.of("Red Hare", "a horse that ran a thousand li a day");
        dev.langchain4j.model.output.Response<List<dev.langchain4j.data.embedding.Embedding>> r =
                m.embedAll(texts.stream().map(dev.langchain4j.data.segment.TextSegment::from).toList());
        assertThat(r.content()).hasSize(2);
        int tokens = 0;
        for (int i = 0; i < texts.size(); i++) {
            int[] ids = ts.formatter.encode(texts.get(i));
            tokens += ids.length;
            float[] raw = ts.engine.embed(new org.redhare.engine.EmbeddingRequest(ids, org.redhare.model.Pooling.LAST)).awaitEmbedding().vector();
            assertThat(r.content().get(i).vector()).as("text %d", i).containsExactly(EmbeddingsApi.finish(raw, null, true));
        }
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(tokens);
        assertThat(m.embed("Red Hare").content().vector()).containsExactly(r.content().get(0).vector());
    }
}
