package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.text.tokenizer.ByteLevelAlphabet;

/**
 * lstrip / rstrip / single_word of added tokens on a tiny byte-level vocabulary (ids 0..255 are the bytes, no
 * merges), so every expected id can be written down: RoBERTa's "&lt;mask&gt;" is lstrip, for example.
 */
class AddedTokenFlagsTest {
    @TempDir
    Path dir;
    Tokenizer tok;

    @BeforeEach
    void build() throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ArrayNode added = root.putArray("added_tokens");
        addToken(added, 256, "<mask>", true, false, false);
        addToken(added, 257, "[R]", false, true, false);
        addToken(added, 258, "cat", false, false, true);
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", false);
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), b);
        model.putArray("merges");
        Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(root));
        tok = Tokenizers.load(dir);
    }

    private static void addToken(ArrayNode added, int id, String content, boolean lstrip, boolean rstrip, boolean singleWord) {
        added.addObject().put("id", id).put("content", content).put("special", false).put("normalized", false)
                .put("lstrip", lstrip).put("rstrip", rstrip).put("single_word", singleWord);
    }

    @Test
    void lstripTakesTheSpacesBefore() {
        assertThat(tok.encode("a  <mask> b", false, true)).containsExactly('a', 256, ' ', 'b');
    }

    @Test
    void rstripTakesTheSpacesAfter() {
        assertThat(tok.encode("a [R]  b", false, true)).containsExactly('a', ' ', 257, 'b');
    }

    @Test
    void singleWordOnlyMatchesAWholeWord() {
        assertThat(tok.encode("a cat", false, true)).containsExactly('a', ' ', 258);
        assertThat(tok.encode("cats", false, true)).containsExactly('c', 'a', 't', 's');
        assertThat(tok.encode("bobcat", false, true)).containsExactly('b', 'o', 'b', 'c', 'a', 't');
        assertThat(tok.decode(new int[] {'a', ' ', 258}, false)).isEqualTo("a cat");
    }
}
