package org.redhare.text.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Google Gemma 3 (and Gemma 2) instruct chat templates, rendered byte for byte as Hugging Face transformers renders
 * them.
 *
 * <p>Templates: {@code resources/org/redhare/text/template/gemma/} (see its README.md for provenance). Gemma 3's is
 * the {@code chat_template} of google/gemma-3-1b-it / gemma-3-4b-it's tokenizer_config.json, as quoted verbatim by
 * ShishirPatil/gorilla {@code bfcl/model_handler/local_inference/gemma.py} (commit 72055c51) and identical to the
 * copy in floneum/floneum {@code models/kalosm-llama/src/chat_template.rs}; Gemma 2's is llama.cpp's
 * {@code models/templates/google-gemma-2-2b-it.jinja} (commit c392e509).
 *
 * <p>Expected strings do not come from RedHare: {@link #LLAMA_CPP_CONVERSATION}'s rendering is llama.cpp's
 * {@code tests/test-chat-template.cpp} expected output for its Gemma format (the folded system prompt, trimmed
 * assistant turn) with {@code <bos>} in front; {@link #gemma3TransformersCheckedCase} is copied from
 * floneum/floneum's test, which says it was checked against Python transformers; the others follow from reading the
 * templates. All were rendered with Python Jinja2 3.1.6 configured as transformers does it and agree byte for byte.
 */
class GemmaChatTemplateTest {

    private static final Map<String, Object> TOKENS = Map.of("bos_token", "<bos>", "eos_token", "<eos>");

    /** llama.cpp's test-chat-template.cpp conversation. */
    static final List<Map<String, Object>> LLAMA_CPP_CONVERSATION = List.of(
            msg("system", "You are a helpful assistant"),
            msg("user", "Hello"),
            msg("assistant", "Hi there"),
            msg("user", "Who are you"),
            msg("assistant", "   I am an assistant   "),
            msg("user", "Another question"));

    private static final ChatTemplate GEMMA3 = ChatTemplate.compile(resource("google-gemma-3-it.jinja"));
    private static final ChatTemplate GEMMA2 = ChatTemplate.compile(resource("google-gemma-2-2b-it.jinja"));

    @Test
    void gemma3FoldsTheSystemPromptIntoTheFirstUserTurnAndTrims() {
        assertThat(GEMMA3.render(LLAMA_CPP_CONVERSATION, null, true, TOKENS)).isEqualTo("<bos>"
                + "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n"
                + "<start_of_turn>model\nHi there<end_of_turn>\n"
                + "<start_of_turn>user\nWho are you<end_of_turn>\n"
                + "<start_of_turn>model\nI am an assistant<end_of_turn>\n"
                + "<start_of_turn>user\nAnother question<end_of_turn>\n"
                + "<start_of_turn>model\n");
    }

    @Test
    void gemma3TransformersCheckedCase() {
        List<Map<String, Object>> messages = List.of(
                msg("system", "You are terse."),
                msg("user", "Hello!"),
                msg("assistant", "Hi."),
                msg("user", "What is 2+2?"));
        assertThat(GEMMA3.render(messages, null, true, TOKENS)).isEqualTo("""
                <bos><start_of_turn>user
                You are terse.

                Hello!<end_of_turn>
                <start_of_turn>model
                Hi.<end_of_turn>
                <start_of_turn>user
                What is 2+2?<end_of_turn>
                <start_of_turn>model
                """);
    }

    @Test
    void gemma3WithoutSystemMessage() {
        List<Map<String, Object>> messages = List.of(
                msg("user", "Hello"), msg("assistant", "Hi there"), msg("user", "Who are you"));
        assertThat(GEMMA3.render(messages, null, true, TOKENS)).isEqualTo("<bos>"
                + "<start_of_turn>user\nHello<end_of_turn>\n"
                + "<start_of_turn>model\nHi there<end_of_turn>\n"
                + "<start_of_turn>user\nWho are you<end_of_turn>\n"
                + "<start_of_turn>model\n");
    }

    @Test
    void gemma3WithoutGenerationPrompt() {
        List<Map<String, Object>> messages = List.of(msg("user", "Hello"), msg("assistant", "Hi there"));
        assertThat(GEMMA3.render(messages, null, false, TOKENS)).isEqualTo("<bos>"
                + "<start_of_turn>user\nHello<end_of_turn>\n"
                + "<start_of_turn>model\nHi there<end_of_turn>\n");
    }

    @Test
    void gemma3ContentAsAListOfParts() {
        // system: only its first part is used (messages[0]['content'][0]['text']); other turns: every text part
        // trimmed and concatenated with nothing between, an image part becomes <start_of_image>.
        List<Map<String, Object>> messages = List.of(
                Map.of("role", "system", "content", List.of(text("You are a helpful assistant"), text("IGNORED"))),
                Map.of("role", "user", "content", List.of(text(" Describe "), Map.of("type", "image"),
                        text("this picture.\n"))),
                Map.of("role", "assistant", "content", List.of(text("A cat."))),
                Map.of("role", "user", "content", List.of(text("Thanks"))));
        assertThat(GEMMA3.render(messages, null, true, TOKENS)).isEqualTo("<bos>"
                + "<start_of_turn>user\nYou are a helpful assistant\n\nDescribe<start_of_image>this picture.<end_of_turn>\n"
                + "<start_of_turn>model\nA cat.<end_of_turn>\n"
                + "<start_of_turn>user\nThanks<end_of_turn>\n"
                + "<start_of_turn>model\n");
    }

    @Test
    void gemma3RaisesOnRolesThatDoNotAlternate() {
        List<Map<String, Object>> messages = List.of(msg("system", "S"), msg("assistant", "Hi"));
        assertThatThrownBy(() -> GEMMA3.render(messages, null, true, TOKENS))
                .isInstanceOfSatisfying(TemplateException.class, e -> {
                    assertThat(e.kind()).isEqualTo("raise_exception");
                    assertThat(e.detail()).isEqualTo("Conversation roles must alternate user/assistant/user/assistant/...");
                });
    }

    @Test
    void gemma3RaisesOnContentThatIsNeitherStringNorList() {
        Map<String, Object> nullContent = new HashMap<>();
        nullContent.put("role", "user");
        nullContent.put("content", null);
        assertThatThrownBy(() -> GEMMA3.render(List.of(nullContent), null, true, TOKENS))
                .isInstanceOfSatisfying(TemplateException.class, e -> {
                    assertThat(e.kind()).isEqualTo("raise_exception");
                    assertThat(e.detail()).isEqualTo("Invalid content type");
                });
    }

    @Test
    void gemma2WithoutSystemMessageTrimsContent() {
        List<Map<String, Object>> messages = List.of(
                msg("user", "Hello"), msg("assistant", "   I am an assistant   "), msg("user", "Another question"));
        assertThat(GEMMA2.render(messages, null, true, TOKENS)).isEqualTo("<bos>"
                + "<start_of_turn>user\nHello<end_of_turn>\n"
                + "<start_of_turn>model\nI am an assistant<end_of_turn>\n"
                + "<start_of_turn>user\nAnother question<end_of_turn>\n"
                + "<start_of_turn>model\n");
    }

    @Test
    void gemma2RejectsASystemMessage() {
        assertThatThrownBy(() -> GEMMA2.render(LLAMA_CPP_CONVERSATION, null, true, TOKENS))
                .isInstanceOfSatisfying(TemplateException.class, e -> {
                    assertThat(e.kind()).isEqualTo("raise_exception");
                    assertThat(e.detail()).isEqualTo("System role not supported");
                });
    }

    @Test
    void templateFilesAreTheExactPublishedText() {
        String g3 = resource("google-gemma-3-it.jinja");
        assertThat(g3).hasSize(1532).startsWith("{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}")
                .endsWith("{%- endif -%}\n");
        assertThat(resource("google-gemma-2-2b-it.jinja")).hasSize(591).endsWith("{% endif %}");
    }

    private static Map<String, Object> msg(String role, String content) {
        return Map.of("role", role, "content", content);
    }

    private static Map<String, Object> text(String t) {
        return Map.of("type", "text", "text", t);
    }

    private static String resource(String name) {
        try (InputStream in = GemmaChatTemplateTest.class.getResourceAsStream("gemma/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource gemma/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
