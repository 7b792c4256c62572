package org.redhare.text.template;

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
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.testing.SharedFiles;

class ChatTemplatesTest {

    @TempDir
    Path dir;

    private static final List<Map<String, Object>> HI = List.of(Map.of("role", "user", "content", "Hi"));

    @Test
    void tokenizerConfigStringForm() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                 "eos_token": "</s>",
                 "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"}
                """);
        ChatTemplates t = ChatTemplates.load(dir).orElseThrow();
        assertThat(t.names()).containsExactly("default");
        assertThat(t.bosToken()).isEqualTo("<s>");
        assertThat(t.eosToken()).isEqualTo("</s>");
        assertThat(t.select(true).render(HI, null, true, t.specialTokens())).isEqualTo("<s>[user]Hi");
    }

    @Test
    void tokenizerConfigNamedListFormSelectsToolUseOnlyWithTools() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"eos_token": "<eos>", "bos_token": null,
                 "chat_template": [{"name": "default", "template": "plain:{{ messages[0].content }}"},
                                   {"name": "tool_use", "template": "tools:{{ tools|length }}:{{ messages[0].content }}"}]}
                """);
        ChatTemplates t = ChatTemplates.load(dir.resolve("tokenizer_config.json")).orElseThrow();
        assertThat(t.names()).containsExactly("default", "tool_use");
        assertThat(t.bosToken()).isNull();
        assertThat(t.select(false).render(HI, null, false, Map.of())).isEqualTo("plain:Hi");
        List<Map<String, Object>> tools = List.of(Map.of("type", "function"));
        assertThat(t.select(true).render(HI, tools, false, Map.of())).isEqualTo("tools:1:Hi");
        assertThatThrownBy(() -> t.template("nope")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("default").hasMessageContaining("tool_use");
    }

    @Test
    void chatTemplateJinjaFileWinsOverTheJsonField() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"old\", \"eos_token\": \"E\"}");
        Files.writeString(dir.resolve("chat_template.jinja"), "new {{ eos_token }}\n");
        ChatTemplates t = ChatTemplates.load(dir).orElseThrow();
        assertThat(t.select(false).render(HI, null, false, t.specialTokens())).isEqualTo("new E");
    }

    @Test
    void noTemplateIsEmptyAndBadInputSaysWhy() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"E\"}");
        assertThat(ChatTemplates.load(dir)).isEmpty();
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": 42}");
        assertThatThrownBy(() -> ChatTemplates.load(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("chat_template must be a string or a list");
        assertThatThrownBy(() -> ChatTemplates.load(dir.resolve("missing"))).isInstanceOf(IOException.class)
                .hasMessageContaining("no model at");
    }

    @Test
    void ggufMetadataDefaultAndNamedTemplatesWithTokens() throws IOException {
        Path gguf = dir.resolve("tiny.gguf");
        Files.write(gguf, tinyGguf());
        ChatTemplates t = ChatTemplates.load(gguf).orElseThrow();
        assertThat(t.names()).containsExactlyInAnyOrder("default", "tool_use");
        assertThat(t.bosToken()).isEqualTo("<bos>");
        assertThat(t.eosToken()).isEqualTo("<eos>");
        assertThat(t.select(false).render(HI, null, true, t.specialTokens())).isEqualTo("<bos>user:Hi<eos>");
        assertThat(t.select(true).render(HI, List.of(Map.of()), true, t.specialTokens())).isEqualTo("T");
    }

    @Test
    void llamaCppPhi3VocabularyCarriesItsTemplate() throws IOException {
        Path phi3 = SharedFiles.require("conformance/tokenizers/llama.cpp/ggml-vocab-phi-3.gguf");
        ChatTemplates t = ChatTemplates.load(phi3).orElseThrow();
        assertThat(t.names()).contains("default");
        String out = t.select(false).render(HI, null, true, t.specialTokens());
        assertThat(out).contains("<|user|>").contains("Hi").endsWith("<|assistant|>\n");
    }

    /** A GGUF v3 file with metadata only (no tensors): templates, a 3-token vocabulary, bos/eos ids. */
    static byte[] tinyGguf() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(0).putLong(5);
        kvString(b, "tokenizer.chat_template", "{{ bos_token }}{{ messages[0].role }}:{{ messages[0].content }}{{ eos_token }}");
        kvString(b, "tokenizer.chat_template.tool_use", "T");
        str(b, "tokenizer.ggml.tokens");
        b.putInt(9).putInt(8).putLong(3);          // ARRAY of STRING, 3 items
        str(b, "<unk>");
        str(b, "<bos>");
        str(b, "<eos>");
        str(b, "tokenizer.ggml.bos_token_id");
        b.putInt(4).putInt(1);                      // UINT32
        str(b, "tokenizer.ggml.eos_token_id");
        b.putInt(4).putInt(2);
        while (b.position() % 32 != 0) {
            b.put((byte) 0);
        }
        out.write(b.array(), 0, b.position());
        return out.toByteArray();
    }

    private static void kvString(ByteBuffer b, String key, String value) {
        str(b, key);
        b.putInt(8);
        str(b, value);
    }

    private static void str(ByteBuffer b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.putLong(bytes.length).put(bytes);
    }
}
