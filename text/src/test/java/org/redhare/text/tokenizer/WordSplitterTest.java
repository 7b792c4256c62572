package org.redhare.text.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.redhare.core.testing.SharedFiles;

/** The hand-written Llama 3 / Qwen / GPT-2 splitters give exactly the pieces of the translated regexes. */
class WordSplitterTest {
    /** Characters that exercise every alternative: letters of several scripts, digits, spaces, newlines, marks... */
    private static final String[] ALPHABET = {"a", "Z", "s", "S", "t", "r", "e", "v", "m", "l", "d", "'", "\u017F", " ", "  ",
        "\t", "\n", "\r", "\r\n", "\u00A0", "\u3000", "\u2028", "\u000B", "1", "٣", "½", "Ⅻ", "é", "\u0301", "中", "😀", "𝐀",
        ".", ",", "!", "(", "-", "_", "$", "\u200B", "\uD800", "ſ", "K"};

    @ParameterizedTest
    @ValueSource(strings = {WordSplitter.LLAMA3_REGEX, WordSplitter.QWEN2_REGEX, WordSplitter.GPT2_REGEX,
        WordSplitter.GPT2_REGEX_LLAMA_CPP})
    void matchesTheRegexOnCorpusAndRandomText(String regex) throws IOException {
        Pattern reference = Regexes.compile(regex, "test");
        WordSplitter fast = WordSplitter.forRegex(regex);
        List<String> texts = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(SharedFiles.require("conformance/tokenizers/corpus.jsonl"))) {
            texts.add(json.readTree(line).path("text").asText());
        }
        Random random = new Random(42);
        for (int t = 0; t < 20_000; t++) {
            StringBuilder sb = new StringBuilder();
            int len = random.nextInt(12);
            for (int i = 0; i < len; i++) sb.append(ALPHABET[random.nextInt(ALPHABET.length)]);
            texts.add(sb.toString());
        }
        for (String text : texts) {
            List<String> expected = new ArrayList<>();
            new PreTokenizer.RegexSplit(reference, PreTokenizer.Behavior.ISOLATED, false).split(text, expected);
            List<String> actual = new ArrayList<>();
            fast.split(text, actual);
            assertThat(actual).as("pieces of %s", escape(text)).isEqualTo(expected);
        }
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) sb.append(c < 0x20 || c > 0x7E ? String.format("\\u%04X", (int) c) : String.valueOf(c));
        return sb.toString();
    }
}
