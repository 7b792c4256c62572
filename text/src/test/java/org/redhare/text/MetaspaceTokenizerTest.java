package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.testing.SharedFiles;

/**
 * Newer SentencePiece-style tokenizer.json files (transformers' non-legacy Llama conversion) put the "▁" prefix in a
 * Metaspace pre-tokenizer with prepend_scheme "first" instead of Prepend/Replace normalizers. On text without added
 * tokens (and not starting with a space) both spellings must give the same ids, so the Mistral goldens check the Metaspace path; after an added
 * token, "first" adds no prefix.
 */
class MetaspaceTokenizerTest {
    @TempDir
    Path dir;

    @Test
    void metaspaceFirstMatchesTheLegacyNormalizersOnPlainText() throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(SharedFiles.require("tokenizers/mistral-v0.1/tokenizer.json").toFile());
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Metaspace").put("replacement", "\u2581").put("prepend_scheme", "first").put("split", false);
        Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(root));
        Tokenizer tok = Tokenizers.load(dir);

        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (String line : Files.readAllLines(SharedFiles.require("conformance/tokenizers/expected/mistral.jsonl"))) {
            JsonNode c = json.readTree(line);
            String text = c.path("text").asText();
            // Metaspace prepends only when the text does not start with a space already, the Prepend normalizer always.
            if (text.contains("<s>") || text.contains("</s>") || text.contains("<unk>") || text.startsWith(" ")) continue;
            checked++;
            TokenizerConformanceTest.check(failures, c.path("id").asText(), text, "ids",
                    TokenizerConformanceTest.ints(c.path("ids")), tok.encode(text, false, true));
        }
        failures.forEach(System.out::println);
        assertThat(checked).isGreaterThan(150);
        assertThat(failures).isEmpty();

        int[] ids = tok.encode("<s>Hi there", false, true);
        assertThat(ids[0]).isEqualTo(1);
        assertThat(tok.tokenString(ids[1])).doesNotStartWith("\u2581");
        assertThat(tok.decode(ids, true)).isEqualTo("Hi there");
        // a leading space is the prefix itself: "▁leading" rather than "▁" + "▁leading"
        assertThat(tok.encode(" leading space", false, true)).containsExactly(5374, 2764);
    }
}
