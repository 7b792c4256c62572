package org.redhare.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link RedHareChatModel} and {@link RedHareStreamingChatModel} are built from: the model, and request
 * parameters every request starts from (a request's own parameters win). Sampling left unset takes the model's
 * recommendation (its generation_config.json or GGUF metadata), as {@code redhare serve} does, then OpenAI's defaults.
 */
public abstract class ChatModelBuilder<B extends ChatModelBuilder<B>> {
    LocalModel model;
    final DefaultChatRequestParameters.Builder<?> parameters = DefaultChatRequestParameters.builder();
    ChatRequestParameters defaults;
    Long seed;
    boolean returnThinking = true;
    final List<ChatModelListener> listeners = new ArrayList<>();

    ChatModelBuilder() {}

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** The model to run (required). */
    public B model(LocalModel model) {
        this.model = model;
        return self();
    }

    /** Request parameters to start from; the single settings below apply on top of them. */
    public B defaultRequestParameters(ChatRequestParameters parameters) {
        this.defaults = parameters;
        return self();
    }

    public B temperature(Double temperature) {
        parameters.temperature(temperature);
        return self();
    }

    public B topP(Double topP) {
        parameters.topP(topP);
        return self();
    }

    public B topK(Integer topK) {
        parameters.topK(topK);
        return self();
    }

    public B frequencyPenalty(Double penalty) {
        parameters.frequencyPenalty(penalty);
        return self();
    }

    public B presencePenalty(Double penalty) {
        parameters.presencePenalty(penalty);
        return self();
    }

    /** Tokens a reply may take at most (default: what the context leaves after the prompt). */
    public B maxOutputTokens(Integer tokens) {
        parameters.maxOutputTokens(tokens);
        return self();
    }

    public B stopSequences(List<String> stops) {
        parameters.stopSequences(stops);
        return self();
    }

    /** Seeds the sampling, so that a request gives the same reply every time. */
    public B seed(Long seed) {
        this.seed = seed;
        return self();
    }

    /** Whether a thinking model's reasoning comes back as the message's {@code thinking()} (default true). */
    public B returnThinking(boolean returnThinking) {
        this.returnThinking = returnThinking;
        return self();
    }

    public B listeners(List<ChatModelListener> listeners) {
        this.listeners.addAll(listeners);
        return self();
    }

    ChatRequestParameters parameters() {
        if (model == null) {
            throw new IllegalStateException("no model: call model(LocalModel.load(path)) on the builder");
        }
        ChatRequestParameters own = parameters.build();
        return defaults != null ? defaults.overrideWith(own) : own;
    }
}
