package org.redhare.server;

import org.redhare.engine.Engine;
import org.redhare.model.EmbeddingConfig;
import org.redhare.model.GenerationDefaults;

/**
 * A loaded model behind the API: its engine (which owns it), its text side, the sampling settings its authors
 * recommend, which fill the fields a request leaves out (as vLLM does with generation_config.json), and how it turns
 * text into embeddings (its sentence-transformers pooling, or the last token's state).
 */
public record ServedModel(Engine engine, PromptFormatter formatter, GenerationDefaults defaults, EmbeddingConfig embedding) {
    public ServedModel {
        defaults = defaults != null ? defaults : GenerationDefaults.NONE;
        embedding = embedding != null ? embedding : EmbeddingConfig.DEFAULT;
    }

    /** A model whose embeddings are its last token's state, normalized. */
    public ServedModel(Engine engine, PromptFormatter formatter, GenerationDefaults defaults) {
        this(engine, formatter, defaults, EmbeddingConfig.DEFAULT);
    }

    /** A model whose requests take the OpenAI API's defaults for what they leave out. */
    public ServedModel(Engine engine, PromptFormatter formatter) {
        this(engine, formatter, GenerationDefaults.NONE);
    }

    public int maxContext() {
        return engine.config().maxContext();
    }
}
