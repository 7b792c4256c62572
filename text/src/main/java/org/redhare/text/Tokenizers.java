package org.redhare.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.redhare.text.tokenizer.GgufTokenizerLoader;
import org.redhare.text.tokenizer.HfTokenizerLoader;
import org.redhare.text.tokenizer.SentencePieceModelLoader;

/** Loads the tokenizer of a model. */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * A Hugging Face folder (tokenizer.json [+ tokenizer_config.json]; a SentencePiece tokenizer.model when there is no
     * tokenizer.json) or a .gguf file (tokenizer.ggml.* metadata).
     */
    public static Tokenizer load(Path modelDirOrGguf) throws IOException {
        Path p = modelDirOrGguf;
        if (Files.isDirectory(p)) {
            Path json = p.resolve("tokenizer.json");
            if (Files.isRegularFile(json)) {
                return HfTokenizerLoader.load(json, p.resolve("tokenizer_config.json"));
            }
            Path spm = p.resolve("tokenizer.model");
            if (Files.isRegularFile(spm)) {
                // Older Llama 2 style folders ship only the SentencePiece model.
                return SentencePieceModelLoader.load(spm, p.resolve("tokenizer_config.json"));
            }
            throw new TokenizerException("no tokenizer.json (nor SentencePiece tokenizer.model) in " + p
                    + ". Put the model's tokenizer.json (and tokenizer_config.json) there, or point at a .gguf file.");
        }
        if (!Files.exists(p)) {
            throw new TokenizerException(p + " does not exist; expected a model folder with tokenizer.json or a .gguf file.");
        }
        String name = p.getFileName().toString();
        if (name.endsWith(".gguf")) {
            return GgufTokenizerLoader.load(p);
        }
        if (name.endsWith(".model")) {
            return SentencePieceModelLoader.load(p, p.resolveSibling("tokenizer_config.json"));
        }
        if (name.endsWith(".json")) {
            return HfTokenizerLoader.load(p, p.resolveSibling("tokenizer_config.json"));
        }
        throw new TokenizerException(p + " is neither a folder with tokenizer.json, a tokenizer.json, a SentencePiece .model"
                + " nor a .gguf file.");
    }
}
