package org.redhare.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.redhare.engine.GenerationHandle;

/**
 * OpenAI's API in the same process, without HTTP: what {@code serve} answers at POST /v1/chat/completions,
 * /v1/completions, /v1/responses and /v1/embeddings, for a Java program that embeds a model (the LangChain4j integration goes through
 * it). Requests and replies are the JSON bodies of those endpoints: the model's chat template, tools and tool calls, {@code response_format}, reasoning
 * apart from the answer, stop strings and the model's sampling defaults all work as they do over HTTP. A request the
 * server would refuse throws the {@link ApiException} it would answer with (its status, type and message).
 * Thread-safe: any number of threads may call it at once, and the engine batches their requests.
 */
public final class LocalApi {
    private final ServedModel model;
    private final String modelName;
    private final ObjectMapper json = new ObjectMapper();
    private final GenerationApi api;
    private final ResponsesApi responses;
    private final EmbeddingsApi embeddings;

    public LocalApi(ServedModel model, String modelName) {
        this.model = model;
        this.modelName = modelName;
        Set<GenerationHandle> active = ConcurrentHashMap.newKeySet();
        this.api = new GenerationApi(json, new ServerMetrics(), active, modelName);
        this.responses = new ResponsesApi(json, api, modelName);
        this.embeddings = new EmbeddingsApi(json, new ServerMetrics(), active, modelName);
    }

    public ServedModel model() {
        return model;
    }

    public String modelName() {
        return modelName;
    }

    /** A whole reply ({@code chat.completion}); the request must not ask to stream. {@code model} may be left out. */
    public ObjectNode chat(JsonNode request) throws InterruptedException {
        ObjectNode body = unstreamed(request);
        return call(() -> api.chat(model, body, LocalApi::neverStreamed));
    }

    /**
     * A streamed reply: each {@code chat.completion.chunk} to {@code chunks} on the calling thread, as the server would
     * send them (the usage chunk last when the request asks for it with {@code stream_options}). An exception that
     * {@code chunks} throws cancels the generation and comes out of this call.
     */
    public void chatStream(JsonNode request, Consumer<ObjectNode> chunks) throws InterruptedException {
        ObjectNode body = streamed(request);
        GenerationApi.Events events = new GenerationApi.Events() {
            @Override
            public void chunk(ObjectNode chunk) {
                chunks.accept(chunk);
            }

            @Override
            public void keepAlive() {}

            @Override
            public void done() {}
        };
        call(() -> api.chat(model, body, () -> events));
    }

    /** A whole completion ({@code text_completion}, POST /v1/completions' body); the request must not ask to stream. */
    public ObjectNode completion(JsonNode request) throws InterruptedException {
        ObjectNode body = unstreamed(request);
        return call(() -> api.completions(model, body, LocalApi::neverStreamed));
    }

    /** A whole response of OpenAI's Responses API (POST /v1/responses' body); the request must not ask to stream. */
    public ObjectNode response(JsonNode request) throws InterruptedException {
        ObjectNode body = unstreamed(request);
        return call(() -> responses.create(model, body, LocalApi::neverStreamed));
    }

    /** A streamed response: each of the Responses API's events (its {@code type} says which) to {@code events}. */
    public void responseStream(JsonNode request, Consumer<ObjectNode> events) throws InterruptedException {
        ObjectNode body = streamed(request);
        ResponsesApi.EventSink sink = new ResponsesApi.EventSink() {
            @Override
            public void event(String type, ObjectNode data) {
                events.accept(data);
            }

            @Override
            public void keepAlive() {}

            @Override
            public void close() {}
        };
        call(() -> responses.create(model, body, () -> sink));
    }

    /**
     * Embeddings (POST /v1/embeddings' body and reply: {@code input} as text or token ids, one or many; {@code dimensions},
     * {@code encoding_format}, and the extension {@code prompt_name}).
     */
    public ObjectNode embeddings(JsonNode request) throws InterruptedException {
        return embeddings.create(model, body(request));
    }

    /** A call into the request handling, whose I/O is in memory here. */
    private interface Handling {
        ObjectNode run() throws IOException, InterruptedException;
    }

    private static ObjectNode call(Handling h) throws InterruptedException {
        try {
            return h.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The stream opener of a request that was checked not to stream: never called. */
    private static <T> T neverStreamed() {
        throw new IllegalStateException("not streamed");
    }

    private ObjectNode streamed(JsonNode request) {
        ObjectNode body = body(request);
        body.put("stream", true);
        return body;
    }

    private ObjectNode unstreamed(JsonNode request) {
        ObjectNode body = body(request);
        if (body.path("stream").asBoolean(false)) {
            throw ApiException.invalid("stream", "this call returns the whole reply: use the streaming call for a streamed one");
        }
        return body;
    }

    private ObjectNode body(JsonNode request) {
        if (request == null || !request.isObject()) {
            throw ApiException.invalid(null, "the request must be a JSON object");
        }
        ObjectNode body = ((ObjectNode) request).deepCopy();
        if (!body.hasNonNull("model")) {
            body.put("model", modelName);
        }
        return body;
    }
}
