package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The streaming decoder: never splits a character, and adds up to decode(). */
class DetokenizerTest {

    private static List<String> pushes(Detokenizer d, int[] ids) {
        List<String> out = new ArrayList<>();
        for (int id : ids) out.add(d.push(id));
        return out;
    }

    @Test
    void byteLevelCharacterSplitOverTokensIsHeldUntilComplete() throws IOException {
        Tokenizer qwen = TokenizerConformanceTest.tokenizer("qwen3");
        int[] ids = qwen.encode("a 龘", false, true);
        // "龘" is three UTF-8 bytes that Qwen spells with more than one token.
        assertThat(ids.length).isGreaterThan(2);
        List<String> parts = pushes(qwen.detokenizer(false), ids);
        assertThat(String.join("", parts)).isEqualTo("a 龘");
        for (String p : parts) assertThat(p).doesNotContain("\uFFFD");
        assertThat(parts.getLast()).endsWith("龘");
    }

    @Test
    void flushTurnsAnIncompleteCharacterIntoReplacement() throws IOException {
        Tokenizer qwen = TokenizerConformanceTest.tokenizer("qwen3");
        int[] ids = qwen.encode("x 龘", false, true);
        Detokenizer d = qwen.detokenizer(false);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length - 1; i++) sb.append(d.push(ids[i]));
        assertThat(sb.toString()).isEqualTo("x");
        String rest = d.flush();
        assertThat(rest).isEqualTo(qwen.decode(ids, false).isEmpty() ? "" : qwen.decode(java.util.Arrays.copyOf(ids, ids.length - 1), false).substring(1));
        assertThat(rest).endsWith("\uFFFD");
    }

    @Test
    void byteFallbackAndLeadingSpaceStripLikeDecode() throws IOException {
        Tokenizer mistral = TokenizerConformanceTest.tokenizer("mistral-v0.1");
        int[] ids = mistral.encode("龘 is rare, hello world", true, true);
        assertThat(mistral.tokenString(ids[1])).isEqualTo("▁");
        assertThat(mistral.tokenString(ids[2])).startsWith("<0x");
        Detokenizer d = mistral.detokenizer(true);
        List<String> parts = pushes(d, ids);
        parts.add(d.flush());
        assertThat(String.join("", parts)).isEqualTo(mistral.decode(ids, true)).isEqualTo("龘 is rare, hello world");
        assertThat(parts).doesNotContain("\uFFFD");
        // the word after the first keeps its space
        assertThat(parts).contains(" is", " world");
    }

    @Test
    void specialTokensAreSkippedOnRequest() throws IOException {
        Tokenizer llama3 = TokenizerConformanceTest.tokenizer("llama3");
        int[] ids = llama3.encode("<|begin_of_text|>Hi<|eot_id|>", false, true);
        assertThat(TokenizerConformanceTest.stream(llama3, ids, true)).isEqualTo("Hi");
        assertThat(TokenizerConformanceTest.stream(llama3, ids, false)).isEqualTo("<|begin_of_text|>Hi<|eot_id|>");
    }
}
