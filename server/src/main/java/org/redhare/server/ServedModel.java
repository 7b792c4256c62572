package org.redhare.server;

import org.redhare.engine.Engine;
import org.redhare.model.GenerationDefaults;

/**
 * A loaded model behind the API: its engine (which owns it), its text side, and the sampling settings its authors
 * recommend, which fill the fields a request leaves out (as vLLM does with generation_config.json).
 */
public record ServedModel(Engine engine, PromptFormatter formatter, GenerationDefaults defaults) {
    public ServedModel {
        defaults = defaults != null ? defaults : GenerationDefaults.NONE;
    }

    /** A model whose requests take the OpenAI API's defaults for what they leave out. */
    public ServedModel(Engine engine, PromptFormatter formatter) {
        this(engine, formatter, GenerationDefaults.NONE);
    }

    public int maxContext() {
        return engine.config().maxContext();
    }
}
