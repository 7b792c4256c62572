package org.redhare.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import java.util.List;
import java.util.Set;

/** What {@link RedHareChatModel} and {@link RedHareStreamingChatModel} share: the model, the defaults, and how they describe themselves. */
abstract class RedHareModel {
    final LocalModel model;
    final ChatRequestParameters defaults;
    final Long seed;
    final boolean returnThinking;
    private final List<ChatModelListener> listeners;

    RedHareModel(ChatModelBuilder<?> b) {
        this.defaults = b.parameters();
        this.model = b.model;
        this.seed = b.seed;
        this.returnThinking = b.returnThinking;
        this.listeners = List.copyOf(b.listeners);
    }

    public ChatRequestParameters defaultRequestParameters() {
        return defaults;
    }

    /** JSON schemas are held token by token, so LangChain4j's AI services may ask for records. */
    public Set<Capability> supportedCapabilities() {
        return Set.of(Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    public List<ChatModelListener> listeners() {
        return listeners;
    }

    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }
}
