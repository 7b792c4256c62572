package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading failures name the file and the component, and say what is supported. */
class TokenizerErrorsTest {
    @TempDir
    Path dir;

    private Path write(String json) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), json);
        return dir;
    }

    @Test
    void missingTokenizerJson() {
        assertThatThrownBy(() -> Tokenizers.load(dir)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("no tokenizer.json (nor SentencePiece tokenizer.model) in " + dir);
    }

    @Test
    void missingPath() {
        assertThatThrownBy(() -> Tokenizers.load(dir.resolve("nope.gguf"))).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("does not exist");
    }

    @Test
    void unsupportedModelType() throws IOException {
        Path d = write("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
        assertThatThrownBy(() -> Tokenizers.load(d)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.json").hasMessageContaining("\"WordPiece\"");
    }

    @Test
    void unsupportedPreTokenizer() throws IOException {
        Path d = write("{\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
        assertThatThrownBy(() -> Tokenizers.load(d)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.json").hasMessageContaining("pre-tokenizer of type \"BertPreTokenizer\"")
                .hasMessageContaining("supported: Sequence, Split, ByteLevel");
    }

    @Test
    void corruptSentencePieceModel() throws IOException {
        Files.write(dir.resolve("tokenizer.model"), new byte[] {0x0A, 0x7F, 0x01});
        assertThatThrownBy(() -> Tokenizers.load(dir)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.model is not a valid SentencePiece model");
    }

    @Test
    void malformedJson() throws IOException {
        Path d = write("{\"model\": ");
        assertThatThrownBy(() -> Tokenizers.load(d)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("is not valid JSON");
    }
}
