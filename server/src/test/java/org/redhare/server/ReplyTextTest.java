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
}
