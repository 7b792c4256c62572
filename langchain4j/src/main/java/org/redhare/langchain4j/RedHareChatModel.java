package org.redhare.langchain4j;

import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import org.redhare.server.ApiException;

/**
 * LangChain4j's {@link ChatModel} over a {@link LocalModel} in this JVM: plain chat, tools (AI services call Java
 * methods), JSON schemas (AI services return records), and a thinking model's reasoning as {@code thinking()}.
 *
 * <pre>{@code
 * ChatModel chat = RedHareChatModel.builder().model(LocalModel.load(path)).temperature(0.7).build();
 * Assistant assistant = AiServices.builder(Assistant.class).chatModel(chat).tools(new MyTools()).build();
 * }</pre>
 */
public final class RedHareChatModel extends RedHareModel implements ChatModel {
    private RedHareChatModel(Builder b) {
        super(b);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        try {
            return OpenAiMapping.response(model.api().chat(OpenAiMapping.request(request, seed, false)), returnThinking);
        } catch (ApiException e) {
            throw OpenAiMapping.exception(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LangChain4jException("interrupted while the model was generating", e);
        }
    }

    public static final class Builder extends ChatModelBuilder<Builder> {
        private Builder() {}

        public RedHareChatModel build() {
            return new RedHareChatModel(this);
        }
    }
}
