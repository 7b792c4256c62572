package org.redhare.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.message.ContentType;
import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.request.EmbeddingInput;
import dev.langchain4j.model.embedding.request.EmbeddingInputType;
import dev.langchain4j.model.embedding.request.EmbeddingParameter;
import dev.langchain4j.model.embedding.request.EmbeddingRequest;
import dev.langchain4j.model.embedding.request.EmbeddingRequestParameters;
import dev.langchain4j.model.embedding.response.EmbeddingResponse;
import dev.langchain4j.model.embedding.response.EmbeddingResponseMetadata;
import dev.langchain4j.model.output.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.redhare.model.EmbeddingConfig;
import org.redhare.server.ApiException;

/**
 * LangChain4j's {@link EmbeddingModel} over a {@link LocalModel} in this JVM, for retrieval (embedding stores, RAG): a
 * sentence-transformers embedding model such as Qwen3-Embedding pools and normalizes as its files say, any other model
 * gives its last token's state, normalized. The texts of one call are batched in the engine, beside any generation in
 * flight on the same model.
 *
 * <p>LangChain4j's input type picks the model's named prompt: {@link EmbeddingInputType#QUERY} the prompt named
 * {@code query} (Qwen3-Embedding's retrieval instruction), {@link EmbeddingInputType#DOCUMENT} the one named
 * {@code document} (or {@code passage}), where the model has them; {@code dimensions} keeps the leading dimensions
 * (Matryoshka models), normalized again.
 *
 * <pre>{@code
 * EmbeddingModel embeddings = RedHareEmbeddingModel.builder().model(LocalModel.load(path)).build();
 * Embedding query = embeddings.embed(EmbeddingRequest.builder().inputs(List.of(EmbeddingInput.from(question)))
 *         .inputType(EmbeddingInputType.QUERY).build()).embeddings().get(0);
 * }</pre>
 */
public final class RedHareEmbeddingModel implements EmbeddingModel {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final LocalModel model;
    private final Integer dimensions;
    private final EmbeddingInputType inputType;

    private RedHareEmbeddingModel(Builder b) {
        if (b.model == null) {
            throw new IllegalArgumentException("model is required: RedHareEmbeddingModel.builder().model(LocalModel.load(path))");
        }
        this.model = b.model;
        this.dimensions = b.dimensions;
        this.inputType = b.inputType;
        int hidden = model.api().model().engine().model().config().hiddenSize();
        if (dimensions != null && (dimensions < 1 || dimensions > hidden)) {
            throw new IllegalArgumentException("dimensions must be in [1, " + hidden + "] for this model, got " + dimensions);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public EmbeddingRequestParameters defaultRequestParameters() {
        return EmbeddingRequestParameters.builder().modelName(model.api().modelName()).dimensions(dimensions).inputType(inputType).build();
    }

    @Override
    public Set<EmbeddingParameter<?>> supportedParameters() {
        return Set.of(EmbeddingRequestParameters.MODEL_NAME, EmbeddingRequestParameters.DIMENSIONS, EmbeddingRequestParameters.INPUT_TYPE);
    }

    @Override
    public Set<ContentType> supportedContentTypes() {
        return Set.of(ContentType.TEXT);
    }

    @Override
    public EmbeddingResponse doEmbed(EmbeddingRequest request) {
        List<EmbeddingInput> inputs = request.inputs();
        if (inputs.isEmpty()) {
            return EmbeddingResponse.builder().embeddings(List.of())
                    .metadata(EmbeddingResponseMetadata.builder().modelName(modelName()).tokenUsage(new TokenUsage(0)).build()).build();
        }
        ObjectNode body = JSON.createObjectNode();
        ArrayNode texts = body.putArray("input");
        for (EmbeddingInput in : inputs) {
            if (!in.contentTypes().equals(Set.of(ContentType.TEXT))) {
                throw new dev.langchain4j.exception.InvalidRequestException("RedHare embeds text only, got " + in.contentTypes());
            }
            texts.add(in.text());
        }
        if (request.dimensions() != null) {
            body.put("dimensions", request.dimensions());
        }
        String prompt = promptName(request.inputType());
        if (prompt != null) {
            body.put("prompt_name", prompt);
        }
        JsonNode reply;
        try {
            reply = model.api().embeddings(body);
        } catch (ApiException e) {
            throw OpenAiMapping.exception(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LangChain4jException("interrupted while the model was embedding", e);
        }
        List<Embedding> out = new ArrayList<>();
        for (JsonNode d : reply.path("data")) {
            JsonNode v = d.path("embedding");
            float[] f = new float[v.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = v.get(i).floatValue();
            }
            out.add(Embedding.from(f));
        }
        int tokens = reply.path("usage").path("prompt_tokens").asInt();
        return EmbeddingResponse.builder().embeddings(out)
                .metadata(EmbeddingResponseMetadata.builder().modelName(modelName()).tokenUsage(new TokenUsage(tokens)).build()).build();
    }

    /** The model's prompt for this input type, or null where it has none (or none is asked for). */
    private String promptName(EmbeddingInputType type) {
        if (type == null) {
            return null;
        }
        Map<String, String> prompts = embedding().prompts();
        List<String> names = type == EmbeddingInputType.QUERY ? List.of("query") : List.of("document", "passage");
        return names.stream().filter(prompts::containsKey).findFirst().orElse(null);
    }

    private EmbeddingConfig embedding() {
        return model.api().model().embedding();
    }

    @Override
    public int dimension() {
        return dimensions != null ? dimensions : model.api().model().engine().model().config().hiddenSize();
    }

    @Override
    public String modelName() {
        return model.api().modelName();
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    public static final class Builder {
        private LocalModel model;
        private Integer dimensions;
        private EmbeddingInputType inputType;

        private Builder() {}

        /** The loaded model (required); it may serve chat models at the same time. */
        public Builder model(LocalModel model) {
            this.model = model;
            return this;
        }

        /** Leading dimensions to keep by default (Matryoshka models); null for all. */
        public Builder dimensions(Integer dimensions) {
            this.dimensions = dimensions;
            return this;
        }

        /** The input type a request that gives none takes (its named prompt); null for none. */
        public Builder inputType(EmbeddingInputType inputType) {
            this.inputType = inputType;
            return this;
        }

        public RedHareEmbeddingModel build() {
            return new RedHareEmbeddingModel(this);
        }
    }
}
