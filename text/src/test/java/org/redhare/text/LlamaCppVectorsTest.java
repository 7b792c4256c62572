package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.testing.SharedFiles;

/**
 * llama.cpp's tokenizer test vectors (../shared/conformance/tokenizers/llama.cpp): 46 strings encoded with
 * add_special=false, parse_special=true, through the vocab-only GGUF of each vocabulary, or through the matching
 * Hugging Face tokenizer.json where llama.cpp ships no GGUF, and the llama-spm vectors also through Llama 2's
 * SentencePiece tokenizer.model.
 */
class LlamaCppVectorsTest {
    private static final String DIR = "conformance/tokenizers/llama.cpp/";
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    static List<String> inputs(String vocab) throws IOException {
        String all = Files.readString(SharedFiles.require(DIR + "ggml-vocab-" + vocab + ".gguf.inp"), StandardCharsets.UTF_8);
        List<String> cases = new ArrayList<>(Arrays.asList(all.split(SEPARATOR, -1)));
        cases.removeLast(); // the file ends with the separator
        return cases;
    }

    static List<int[]> outputs(String vocab) throws IOException {
        List<int[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(SharedFiles.require(DIR + "ggml-vocab-" + vocab + ".gguf.out"))) {
            String t = line.trim();
            out.add(t.isEmpty() ? new int[0] : Arrays.stream(t.split(" +")).mapToInt(Integer::parseInt).toArray());
        }
        return out;
    }

    /** tokenizer: "gguf" for the vocabulary's own GGUF, else a folder under ../shared/tokenizers. */
    @ParameterizedTest(name = "{0} via {1}")
    @CsvSource({
        "llama-spm, gguf", "phi-3, gguf", "gpt-2, gguf", "deepseek-llm, gguf", "deepseek-coder, gguf",
        "falcon, gguf", "mpt, gguf", "refact, gguf", "starcoder, gguf",
        "llama-bpe, llama3", "qwen2, qwen3", "deepseek-r1-qwen, qwen3",
        // Meta's Llama 2 SentencePiece tokenizer.model (the folder holds nothing else)
        "llama-spm, llama2-spm"})
    void vectorsMatch(String vocab, String tokenizer) throws IOException {
        Tokenizer tok = tokenizer.equals("gguf")
                ? Tokenizers.load(SharedFiles.require(DIR + "ggml-vocab-" + vocab + ".gguf"))
                : TokenizerConformanceTest.tokenizer(tokenizer);
        List<String> in = inputs(vocab);
        List<int[]> expected = outputs(vocab);
        assertThat(in).hasSameSizeAs(expected);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            int[] actual = tok.encode(in.get(i), false, true);
            if (!Arrays.equals(expected.get(i), actual)) {
                failures.add("case " + i + " text=" + TokenizerConformanceTest.show(in.get(i)) + "\n  expected "
                        + Arrays.toString(expected.get(i)) + "\n  actual   " + Arrays.toString(actual));
            }
        }
        System.out.printf("llama.cpp vectors %-16s via %-6s: %d/%d pass%n", vocab, tokenizer, in.size() - failures.size(), in.size());
        failures.forEach(System.out::println);
        assertThat(failures).as("%d of %d llama.cpp cases of %s fail", failures.size(), in.size(), vocab).isEmpty();
    }

    @Test
    void wordPieceVocabularyIsRejectedWithAClearMessage() {
        Path bert = SharedFiles.require(DIR + "ggml-vocab-bert-bge.gguf");
        assertThatThrownBy(() -> Tokenizers.load(bert))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.ggml.model \"bert\"")
                .hasMessageContaining("not supported");
    }
}
