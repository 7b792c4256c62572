package org.redhare.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GGUF vocabularies we cannot tokenize exactly are rejected with a message naming the key and the value. */
class GgufRejectionTest {
    @TempDir
    Path dir;

    /** A vocabulary-only GGUF v3: string keys with string or string-array values. */
    private Path gguf(String name, String model, String pre) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        writeInt(out, 3);
        writeLong(out, 0); // tensors
        writeLong(out, pre == null ? 3 : 4);
        writeString(out, "tokenizer.ggml.model");
        writeInt(out, 8);
        writeString(out, model);
        writeString(out, "tokenizer.ggml.tokens");
        writeStringArray(out, List.of("a", "b", "ab"));
        writeString(out, "tokenizer.ggml.merges");
        writeStringArray(out, List.of("a b"));
        if (pre != null) {
            writeString(out, "tokenizer.ggml.pre");
            writeInt(out, 8);
            writeString(out, pre);
        }
        Path p = dir.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    private static void writeStringArray(ByteArrayOutputStream out, List<String> values) {
        writeInt(out, 9);
        writeInt(out, 8);
        writeLong(out, values.size());
        for (String v : values) writeString(out, v);
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        writeLong(out, b.length);
        out.writeBytes(b);
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    private static void writeLong(ByteArrayOutputStream out, long v) {
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    @Test
    void unknownPreTokenizerIsRejected() throws IOException {
        Path p = gguf("x.gguf", "gpt2", "made-up-pre");
        assertThatThrownBy(() -> Tokenizers.load(p)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.ggml.pre \"made-up-pre\" is not supported")
                .hasMessageContaining("llama3").hasMessageContaining(p.toString());
    }

    @Test
    void unigramVocabularyIsRejected() throws IOException {
        Path p = gguf("t5.gguf", "t5", null);
        assertThatThrownBy(() -> Tokenizers.load(p)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.ggml.model \"t5\" is not supported");
    }

    @Test
    void aMinimalGpt2VocabularyMergesWithTheDefaultPreTokenizer() throws IOException {
        Tokenizer tok = Tokenizers.load(gguf("min.gguf", "gpt2", null));
        assertThat(tok.encode("ab", false, true)).containsExactly(2);
        assertThat(tok.encode("ba", false, true)).containsExactly(1, 0);
        assertThat(tok.decode(new int[] {2, 0}, false)).isEqualTo("aba");
    }
}
