package org.redhare.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.redhare.text.TokenizerException;
import org.redhare.text.tokenizer.GgufVocabulary;

/** The tokenizer metadata a GGUF that {@code quantize} or {@code synth} writes carries, from a model folder. */
final class GgufVocabularyOption {
    private GgufVocabularyOption() {}

    /**
     * The vocabulary of {@code dir} as GGUF metadata; when there is none to write (no tokenizer.json, or a kind GGUF
     * conversion does not cover), says so and marks the file as carrying none ({@code tokenizer.ggml.model = "none"},
     * which llama.cpp loads as a model without a tokenizer and RedHare runs from token ids).
     */
    static Map<String, Object> of(Path dir, int vocabSize) throws IOException {
        if (dir == null || !Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            Progress.info("note: no tokenizer.json" + (dir == null ? "" : " in " + dir) + ", so the GGUF carries no vocabulary"
                    + " (it runs from token ids: --tokens)");
            return Map.of("tokenizer.ggml.model", "none");
        }
        try {
            return GgufVocabulary.fromHuggingFace(dir, vocabSize);
        } catch (TokenizerException e) {
            Progress.info("note: the GGUF carries no vocabulary: " + e.getMessage());
            return Map.of("tokenizer.ggml.model", "none");
        }
    }
}
