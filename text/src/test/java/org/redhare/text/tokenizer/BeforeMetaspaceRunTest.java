package org.redhare.text.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.redhare.core.testing.SharedFiles;
import org.redhare.model.gguf.GgufFile;

/**
 * Splitting SentencePiece text before runs of "▁" must not change the ids when the vocabulary passes
 * {@link PreTokenizer.BeforeMetaspaceRun#safeFor}: checked against encoding each whole text as one piece.
 */
class BeforeMetaspaceRunTest {

    @Test
    void wordsGiveTheSameIdsAsTheWholeTextForLlama2Scores() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFiles.require("conformance/tokenizers/llama.cpp/ggml-vocab-llama-spm.gguf"))) {
            @SuppressWarnings("unchecked")
            List<String> tokens = (List<String>) f.metadata().get("tokenizer.ggml.tokens");
            Map<String, Integer> vocab = new HashMap<>();
            for (int i = 0; i < tokens.size(); i++) vocab.putIfAbsent(tokens.get(i), i);
            assertThat(PreTokenizer.BeforeMetaspaceRun.safeFor(vocab.keySet(), '\u2581')).isTrue();
            SpmScoreModel model = new SpmScoreModel(vocab, (float[]) f.metadata().get("tokenizer.ggml.scores"), 0);
            PreTokenizer words = new PreTokenizer.BeforeMetaspaceRun('\u2581');
            int checked = 0;
            for (String text : corpusTexts()) {
                String normalized = "\u2581" + text.replace(' ', '\u2581');
                IntList whole = new IntList();
                model.encode(normalized, whole);
                IntList split = new IntList();
                words.split(normalized, true, w -> model.encode(w, split));
                assertThat(split.toArray()).as(text).containsExactly(whole.toArray());
                checked++;
            }
            assertThat(checked).isGreaterThan(100);
        }
    }

    @Test
    void aVocabularyWithSpaceInsideATokenIsNotSplit() {
        assertThat(PreTokenizer.BeforeMetaspaceRun.safeFor(List.of("\u2581a", "\u2581\u2581", "a\u2581b"), '\u2581')).isFalse();
        List<String> pieces = new ArrayList<>();
        new PreTokenizer.BeforeMetaspaceRun('\u2581').split("\u2581a\u2581\u2581b c\u2581", pieces);
        assertThat(pieces).containsExactly("\u2581a", "\u2581\u2581b c", "\u2581");
    }

    private static List<String> corpusTexts() throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(SharedFiles.require("conformance/tokenizers/corpus.jsonl"))) {
            texts.add(json.readTree(line).path("text").asText());
        }
        return texts;
    }
}
