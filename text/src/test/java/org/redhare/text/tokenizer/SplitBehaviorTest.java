package org.redhare.text.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Split's delimiter behaviours, with the examples of the Hugging Face tokenizers documentation and tests. */
class SplitBehaviorTest {
    private static List<String> split(String regex, PreTokenizer.Behavior b, boolean invert, String text) {
        List<String> out = new ArrayList<>();
        new PreTokenizer.RegexSplit(Pattern.compile(regex), b, invert).split(text, out);
        return out;
    }

    @Test
    void behaviours() {
        String text = "the-final--countdown";
        assertThat(split("-", PreTokenizer.Behavior.REMOVED, false, text)).containsExactly("the", "final", "countdown");
        assertThat(split("-", PreTokenizer.Behavior.ISOLATED, false, text))
                .containsExactly("the", "-", "final", "-", "-", "countdown");
        assertThat(split("-", PreTokenizer.Behavior.MERGED_WITH_PREVIOUS, false, text))
                .containsExactly("the-", "final-", "-", "countdown");
        assertThat(split("-", PreTokenizer.Behavior.MERGED_WITH_NEXT, false, text))
                .containsExactly("the", "-final", "-", "-countdown");
        assertThat(split("-", PreTokenizer.Behavior.CONTIGUOUS, false, text))
                .containsExactly("the", "-", "final", "--", "countdown");
    }

    @Test
    void invertedMatchesAreTheContent() {
        assertThat(split("\\w+", PreTokenizer.Behavior.REMOVED, true, "Hello there, friend"))
                .containsExactly("Hello", "there", "friend");
        assertThat(split("\\d", PreTokenizer.Behavior.ISOLATED, true, "a1b")).containsExactly("a", "1", "b");
    }
}
