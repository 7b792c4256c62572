package org.redhare.text.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.testing.SharedFiles;
import org.redhare.text.TokenizerException;

/**
 * Hugging Face tokenizers written as GGUF metadata ({@link GgufVocabulary}) and read back the way a GGUF file's
 * vocabulary is read ({@link GgufTokenizerLoader}) encode the conformance corpus to the Rust tokenizers library's
 * ids, and decode them to its text.
 */
class GgufVocabularyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "{0}")
    @CsvSource({"qwen3, qwen3, qwen2, -1", "llama3, llama3, llama-bpe, 128000", "deepseek_v3, deepseek_v3, deepseek-v3, 0"})
    void corpusEncodesAsHuggingFaceThroughGgufMetadata(String expected, String folder, String pre, int bos) throws IOException {
        Path dir = SharedFiles.require("tokenizers/" + folder);
        int hfSize = JSON.readTree(dir.resolve("tokenizer.json").toFile()).path("model").path("vocab").size();
        int padded = hfSize + 1000; // a model whose embedding has more rows than the tokenizer has tokens
        Map<String, Object> md = GgufVocabulary.fromHuggingFace(dir, padded);
        assertThat(md.get("tokenizer.ggml.pre")).isEqualTo(pre);
        assertThat((List<?>) md.get("tokenizer.ggml.tokens")).hasSizeGreaterThanOrEqualTo(padded);
        assertThat(((int[]) md.get("tokenizer.ggml.token_type")).length).isEqualTo(((List<?>) md.get("tokenizer.ggml.tokens")).size());
        assertThat(md.getOrDefault("tokenizer.ggml.bos_token_id", -1)).isEqualTo(bos);
        assertThat(md).containsKey("tokenizer.chat_template");
        assertCorpus(dir, md, SharedFiles.require("conformance/tokenizers/expected/" + expected + ".jsonl"));
        // Padding ids are unused tokens: never produced from text, not matched as special tokens.
        PipelineTokenizer tok = GgufTokenizerLoader.build(dir.resolve("model.gguf"), md);
        assertThat(tok.encode("[PAD" + (padded - 1) + "]", false, true)).hasSizeGreaterThan(1);
    }

    /**
     * SentencePiece-style vocabularies (byte fallback, "▁" for spaces) go into GGUF as llama.cpp's "llama" kind, with
     * scores from the merge ranks: read back, they encode the corpus as the tokenizers library does. Mistral's prepends
     * a space (add_space_prefix), Gemma 3's does not.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"mistral, true, 1", "gemma3, false, 2"})
    void sentencePieceStyleVocabulariesEncodeAsHuggingFaceThroughGgufMetadata(String name, boolean prefix, int bos) throws Exception {
        Path dir = name.equals("gemma3") ? org.redhare.text.FetchedTokenizers.require("gemma3") : SharedFiles.require("tokenizers/mistral-v0.1");
        Path corpus = name.equals("gemma3") ? Path.of(GgufVocabularyTest.class.getResource("/conformance/gemma3.jsonl").toURI())
                : SharedFiles.require("conformance/tokenizers/expected/mistral.jsonl");
        int hfSize = JSON.readTree(dir.resolve("tokenizer.json").toFile()).path("model").path("vocab").size();
        Map<String, Object> md = GgufVocabulary.fromHuggingFace(dir, hfSize);
        assertThat(md.get("tokenizer.ggml.model")).isEqualTo("llama");
        assertThat(md.get("tokenizer.ggml.add_space_prefix")).isEqualTo(prefix);
        assertThat(md.get("tokenizer.ggml.bos_token_id")).isEqualTo(bos);
        assertThat(md.get("tokenizer.ggml.add_bos_token")).isEqualTo(true);
        List<?> tokens = (List<?>) md.get("tokenizer.ggml.tokens");
        int[] types = (int[]) md.get("tokenizer.ggml.token_type");
        assertThat(types[tokens.indexOf("<0x41>")]).isEqualTo(6); // byte tokens typed as bytes
        assertThat(types[tokens.indexOf("<unk>")]).isEqualTo(2);
        assertThat(((float[]) md.get("tokenizer.ggml.scores"))).hasSize(tokens.size());
        assertCorpus(dir, md, corpus);
    }

    /** Encodes (without and with special tokens) and decodes every case of a conformance corpus through {@code md}. */
    private static void assertCorpus(Path dir, Map<String, Object> md, Path corpus) throws IOException {
        PipelineTokenizer tok = GgufTokenizerLoader.build(dir.resolve("model.gguf"), md);
        List<String> failures = new ArrayList<>();
        int cases = 0;
        boolean nfc = JSON.readTree(dir.resolve("tokenizer.json").toFile()).path("normalizer").path("type").asText().equals("NFC");
        for (String line : Files.readAllLines(corpus)) {
            if (line.isBlank()) continue;
            JsonNode c = JSON.readTree(line);
            String text = c.path("text").asText();
            if (nfc && !java.text.Normalizer.isNormalized(text, java.text.Normalizer.Form.NFC)) {
                continue; // GGUF has no normalizer (Qwen's NFC): llama.cpp too tokenizes such text unnormalized
            }
            cases++;
            int[] ids = ints(c.path("ids"));
            int[] got = tok.encode(text, false, true);
            if (!Arrays.equals(ids, got)) failures.add(c.path("id").asText() + " ids " + Arrays.toString(got));
            int[] withSpecial = tok.encode(text, true, true);
            if (!Arrays.equals(ints(c.path("ids_add_special_tokens")), withSpecial)) {
                failures.add(c.path("id").asText() + " ids_add_special_tokens " + Arrays.toString(withSpecial));
            }
            if (!c.path("decoded").asText().equals(tok.decode(ids, false))) failures.add(c.path("id").asText() + " decoded");
        }
        assertThat(cases).isGreaterThan(100);
        assertThat(failures).as("%d of %d cases", failures.size(), cases).isEmpty();
    }

    @Test
    void unknownLayoutsAndMissingTokenizersAreRefusedClearly(@TempDir Path tmp) throws IOException {
        // Mistral's vocabulary behind a normalizer GGUF has no name for (lowercasing): refused, not written wrong.
        Path mistral = SharedFiles.require("tokenizers/mistral-v0.1");
        Path odd = Files.createDirectories(tmp.resolve("odd"));
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(mistral.resolve("tokenizer.json").toFile());
        root.putObject("normalizer").put("type", "Lowercase");
        Files.writeString(odd.resolve("tokenizer.json"), root.toString());
        assertThatThrownBy(() -> GgufVocabulary.fromHuggingFace(odd, 32000)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("pre-tokenizer");
        assertThatThrownBy(() -> GgufVocabulary.fromHuggingFace(tmp, 100)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("no tokenizer.json");
        assertThatThrownBy(() -> GgufTokenizerLoader.build(tmp.resolve("x.gguf"), Map.of("tokenizer.ggml.model", "none")))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("no vocabulary");
    }

    private static int[] ints(JsonNode n) {
        int[] r = new int[n.size()];
        for (int i = 0; i < r.length; i++) r[i] = n.get(i).asInt();
        return r;
    }
}
