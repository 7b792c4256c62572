package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.testing.SharedFiles;
import org.redhare.text.ModelText;
import org.redhare.text.template.ReasoningParser;
import org.redhare.text.tools.ToolCall;
import org.redhare.text.tools.ToolCallFormat;
import org.redhare.text.tools.ToolCallParser;

/**
 * The reply pipeline (detokenizer → stop strings → reasoning split) fed real Qwen3 token ids one at a time,
 * as the engine would stream them: what a random-weight model cannot be made to write (a closed think block,
 * characters split across tokens) is checked here on the server's own wiring.
 */
class ReplyTextTest {
    static ModelTextFormatter f;

    @BeforeAll
    static void load() throws Exception {
        f = new ModelTextFormatter(ModelText.load(SharedFiles.require("tokenizers/qwen3")).orElseThrow());
    }

    /** Streams {@code generated} token by token; returns [reasoning, content, number of deltas that carried reasoning]. */
    static List<String> run(String generated, List<String> stops, String prompt) {
        int[] ids = f.text().encodeRendered(generated);
        ReplyText r = new ReplyText(f.decoder(), stops, prompt == null ? null : ReasoningParser.forPrompt(prompt).stream());
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        int reasoningDeltas = 0;
        List<ReplyText.Delta> deltas = new ArrayList<>();
        for (int id : ids) {
            deltas.add(r.push(id));
            if (r.stopped()) break;
        }
        deltas.add(r.finish());
        for (ReplyText.Delta d : deltas) {
            reasoning.append(d.reasoning());
            content.append(d.content());
            if (!d.reasoning().isEmpty()) reasoningDeltas++;
        }
        return List.of(reasoning.toString(), content.toString(), String.valueOf(reasoningDeltas));
    }

    @Test
    void closedThinkBlockSplitsIntoReasoningAndContentWhileStreaming() {
        String gen = "<think>\nThe user greets me. I should greet back.\n</think>\n\nHello! How can I help?<|im_end|>";
        assertThat(f.text().encodeRendered(gen)).contains(151667, 151668); // <think> and </think> are single tokens
        List<String> out = run(gen, List.of(), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(out.get(0)).isEqualTo("The user greets me. I should greet back.");
        assertThat(out.get(1)).isEqualTo("Hello! How can I help?"); // the special end-of-turn token is not text
        assertThat(Integer.parseInt(out.get(2))).isGreaterThan(3); // reasoning streamed as it came, not at the end
    }

    @Test
    void promptThatOpensTheBlockStartsInReasoning() {
        List<String> out = run("Two plus two is four.\n</think>\n\n4", List.of(), "<|im_start|>assistant\n<think>\n");
        assertThat(out.get(0)).isEqualTo("Two plus two is four.");
        assertThat(out.get(1)).isEqualTo("4");
    }

    @Test
    void stopStringSpanningTokensEndsTheAnswerWithoutLeaking() {
        List<String> out = run("<think>\nok\n</think>\n\nThe answer is forty-two, surely.", List.of("forty-two"), "<|im_start|>assistant\n");
        assertThat(out.get(0)).isEqualTo("ok");
        assertThat(out.get(1)).isEqualTo("The answer is ");
    }

    @Test
    void withoutReasoningTheTextPassesThroughWhole() {
        List<String> out = run("  plain text, 日本語 and 🦊", List.of(), null);
        assertThat(out.get(1)).isEqualTo("  plain text, 日本語 and 🦊");
        assertThat(out.get(0)).isEmpty();
    }

    @Test
    void tokenBytesRebuildCharactersSplitAcrossTokens() {
        String s = "🦊 𓂀𓃰 and 龘";
        int[] ids = f.text().encodeRendered(s);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        boolean sawPartial = false;
        for (int id : ids) {
            sawPartial |= f.tokenText(id).contains("\uFFFD");
            all.writeBytes(f.tokenBytes(id));
        }
        assertThat(sawPartial).as("some token holds part of a character").isTrue();
        assertThat(all.toByteArray()).isEqualTo(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void reasoningThenToolCallsOnRealTokens() {
        String gen = "<think>\nI need the weather.\n</think>\n\nChecking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"東京\"}}\n</tool_call>"
                + "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>";
        int[] ids = f.text().encodeRendered(gen);
        assertThat(ids).contains(151657, 151658); // <tool_call> and </tool_call> are single tokens
        ToolCallParser tools = new ToolCallParser(f.text().toolCallFormat().orElseThrow(), List.of("get_weather"));
        assertThat(tools.format()).isEqualTo(ToolCallFormat.HERMES);
        ReplyText r = new ReplyText(f.decoder(tools.format().markers()), List.of(),
                ReasoningParser.forPrompt("<|im_start|>assistant\n").stream(), tools.stream());
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        int callDeltas = 0;
        List<ReplyText.Delta> deltas = new ArrayList<>();
        for (int id : ids) {
            deltas.add(r.push(id));
        }
        deltas.add(r.finish());
        for (ReplyText.Delta d : deltas) {
            reasoning.append(d.reasoning());
            content.append(d.content());
            calls.addAll(d.toolCalls());
            if (!d.toolCalls().isEmpty()) callDeltas++;
        }
        assertThat(reasoning.toString()).isEqualTo("I need the weather.");
        assertThat(content.toString()).isEqualTo("Checking.");
        assertThat(calls).containsExactly(new ToolCall("get_weather", "{\"city\":\"東京\"}"), new ToolCall("get_weather", "{\"city\":\"Oslo\"}"));
        assertThat(callDeltas).as("each call sent as soon as its block closes").isEqualTo(2);
    }

    /**
     * GLM-4.5's template writes string arguments unquoted, so only the request's schema tells the string "2024" from the
     * number: the chat prompt's parser reads an argument typed "string" as the text written, the others as JSON values.
     */
    @Test
    void glmCallsReadStringArgumentsByTheToolsSchema(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Files.copy(SharedFiles.require("tokenizers/qwen3").resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        String template = "{% for m in messages %}<|user|>{{ m.content }}{% for tc in m.tool_calls or [] %}<tool_call>{{ tc.function.name }}"
                + "{% for k, v in tc.function.arguments.items() %}<arg_key>{{ k }}</arg_key><arg_value>{{ v if v is string else v | tojson }}"
                + "</arg_value>{% endfor %}</tool_call>{% endfor %}{% endfor %}<|assistant|>";
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"),
                new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(java.util.Map.of("chat_template", template)));
        ModelTextFormatter glm = new ModelTextFormatter(ModelText.load(dir).orElseThrow());
        java.util.Map<String, Object> tool = java.util.Map.of("type", "function", "function", java.util.Map.of("name", "find_events",
                "parameters", java.util.Map.of("type", "object", "properties", java.util.Map.of(
                        "year", java.util.Map.of("type", "string"), "limit", java.util.Map.of("type", "integer"),
                        "tags", java.util.Map.of("type", "array"), "note", java.util.Map.of("type", "string")))));
        PromptFormatter.ChatPrompt prompt = glm.renderChat(List.of(java.util.Map.of("role", "user", "content", "Events of 2024?")),
                List.of(tool), java.util.Map.of());
        assertThat(prompt.toolCalls().format()).isEqualTo(ToolCallFormat.GLM45);
        String reply = "<tool_call>find_events<arg_key>year</arg_key><arg_value>2024</arg_value><arg_key>limit</arg_key><arg_value>5"
                + "</arg_value><arg_key>tags</arg_key><arg_value>[\"music\"]</arg_value><arg_key>note</arg_key><arg_value>true</arg_value></tool_call>";
        assertThat(prompt.toolCalls().parse(reply).calls()).containsExactly(
                new ToolCall("find_events", "{\"year\":\"2024\",\"limit\":5,\"tags\":[\"music\"],\"note\":\"true\"}"));
        // a tool the request did not declare: values read by what they look like
        assertThat(prompt.toolCalls().parse(reply.replace("find_events", "other")).calls()).containsExactly(
                new ToolCall("other", "{\"year\":2024,\"limit\":5,\"tags\":[\"music\"],\"note\":true}"));
    }
}
