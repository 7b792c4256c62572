package org.redhare.langchain4j;

import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import java.util.List;
import java.util.Set;
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
public final class RedHareChatModel implements ChatModel {
    private final LocalModel model;
    private final ChatRequestParameters defaults;
    private final Long seed;
    private final boolean returnThinking;
    private final List<ChatModelListener> listeners;

    private RedHareChatModel(Builder b) {
        this.defaults = b.parameters();
        this.model = b.model;
        this.seed = b.seed;
        this.returnThinking = b.returnThinking;
        this.listeners = List.copyOf(b.listeners);
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

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return defaults;
    }

    @Override
    public Set<Capability> supportedCapabilities() {
        return Set.of(Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    @Override
    public List<ChatModelListener> listeners() {
        return listeners;
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    public static final class Builder extends ChatModelBuilder<Builder> {
        private Builder() {}

        public RedHareChatModel build() {
            return new RedHareChatModel(this);
        }
    }
}
