package org.redhare.server;

import java.nio.file.Path;
import org.redhare.model.CausalLM;

/** Picks the text side for a model: its own tokenizer and chat template when it ships them. */
public final class PromptFormatters {
    private PromptFormatters() {}

    /**
     * The formatter for the model at {@code modelPath}. Until the tokenizer and template engine are wired
     * in, every model is served through {@link ByteFallbackFormatter}.
     */
    public static PromptFormatter forModel(Path modelPath, CausalLM model) {
        return new ByteFallbackFormatter(model.vocabSize());
    }
}
