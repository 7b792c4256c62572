package org.redhare.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import org.redhare.server.ApiException;

/**
 * LangChain4j's {@link StreamingChatModel} over a {@link LocalModel} in this JVM: the reply's text as it is generated
 * ({@code onPartialResponse}), a thinking model's reasoning ({@code onPartialThinking}), each tool call once whole
 * ({@code onCompleteToolCall}), then the whole response. Each request runs on a virtual thread of its own; the
 * handler is called on it. A handler that throws cancels the generation, and its error reaches {@code onError}.
 */
public final class RedHareStreamingChatModel extends RedHareModel implements StreamingChatModel {
    private RedHareStreamingChatModel(Builder b) {
        super(b);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        ObjectNode body;
        try {
            body = OpenAiMapping.request(request, seed, true);
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        Thread.ofVirtual().name("redhare-langchain4j-stream").start(() -> run(body, handler));
    }

    private void run(ObjectNode body, StreamingChatResponseHandler handler) {
        StringBuilder text = new StringBuilder();
        StringBuilder thinking = new StringBuilder();
        List<ToolExecutionRequest> calls = new ArrayList<>();
        String[] idAndModel = new String[2];
        FinishReason[] finish = {null};
        TokenUsage[] usage = {null};
        try {
            model.api().chatStream(body, chunk -> {
                idAndModel[0] = chunk.path("id").asText(null);
                idAndModel[1] = chunk.path("model").asText(null);
                if (chunk.hasNonNull("usage")) {
                    usage[0] = OpenAiMapping.usage(chunk.get("usage"));
                }
                for (JsonNode choice : chunk.path("choices")) {
                    JsonNode delta = choice.path("delta");
                    String reasoning = delta.path("reasoning_content").asText("");
                    if (!reasoning.isEmpty() && returnThinking) {
                        thinking.append(reasoning);
                        handler.onPartialThinking(new PartialThinking(reasoning));
                    }
                    String content = delta.path("content").asText("");
                    if (!content.isEmpty()) {
                        text.append(content);
                        handler.onPartialResponse(content);
                    }
                    for (JsonNode c : delta.path("tool_calls")) {
                        ToolExecutionRequest call = OpenAiMapping.toolCall(c); // the server sends each call whole
                        handler.onCompleteToolCall(new CompleteToolCall(calls.size(), call));
                        calls.add(call);
                    }
                    if (choice.hasNonNull("finish_reason")) {
                        finish[0] = OpenAiMapping.finishReason(choice.get("finish_reason").asText());
                    }
                }
            });
        } catch (ApiException e) {
            handler.onError(OpenAiMapping.exception(e));
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            handler.onError(new LangChain4jException("interrupted while the model was generating", e));
            return;
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        handler.onCompleteResponse(OpenAiMapping.response(idAndModel[0], idAndModel[1], text.isEmpty() && !calls.isEmpty() ? null : text.toString(),
                returnThinking && !thinking.isEmpty() ? thinking.toString() : null, calls, usage[0], finish[0]));
    }

    public static final class Builder extends ChatModelBuilder<Builder> {
        private Builder() {}

        public RedHareStreamingChatModel build() {
            return new RedHareStreamingChatModel(this);
        }
    }
}
