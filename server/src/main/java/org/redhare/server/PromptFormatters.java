package org.redhare.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import org.redhare.text.ModelText;

/** Picks the text side for a model: its own tokenizer and chat template when it ships them. */
public final class PromptFormatters {
    private PromptFormatters() {}

    /**
     * The formatter for the model at {@code modelPath}: over its tokenizer and chat template when it has a
     * tokenizer, otherwise one that serves token ids only.
     *
     * @throws org.redhare.text.TokenizerException when a tokenizer is there but cannot be read
     */
    public static PromptFormatter forModel(Path modelPath, String modelName) {
        Optional<ModelText> text;
        try {
            text = ModelText.load(modelPath);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the tokenizer of " + modelPath + ": " + e.getMessage(), e);
        }
        return text.<PromptFormatter>map(ModelTextFormatter::new).orElseGet(() -> new TokenIdsOnlyFormatter(modelName));
    }
}
