package org.redhare.text.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.redhare.text.template.ReasoningParser.Delta;
import org.redhare.text.template.ReasoningParser.Result;

class ReasoningParserTest {

    private static final ReasoningParser PLAIN = ReasoningParser.forPrompt("<|im_start|>assistant\n");
    private static final ReasoningParser OPENED = ReasoningParser.forPrompt("<｜Assistant｜><think>\n");

    @Test
    void promptDecidesWhetherOutputStartsInsideReasoning() {
        assertThat(PLAIN.startsInReasoning()).isFalse();
        assertThat(OPENED.startsInReasoning()).isTrue();
        // Qwen3 enable_thinking=false closes an empty think block in the prompt
        assertThat(ReasoningParser.forPrompt("<|im_start|>assistant\n<think>\n\n</think>\n\n").startsInReasoning()).isFalse();
    }

    @Test
    void parsesQwen3StyleOutput() {
        assertThat(PLAIN.parse("<think>\nLet me add.\n2+2=4\n</think>\n\nThe answer is 4."))
                .isEqualTo(new Result("Let me add.\n2+2=4", "The answer is 4."));
        assertThat(PLAIN.parse("Just an answer.\n")).isEqualTo(new Result(null, "Just an answer.\n"));
        assertThat(PLAIN.parse("<think>\n\n</think>\n\nAnswer")).isEqualTo(new Result("", "Answer"));
        assertThat(PLAIN.parse("<think>cut off mid thought")).isEqualTo(new Result("cut off mid thought", ""));
        assertThat(PLAIN.parse("No tag <think>here</think> in the middle"))
                .isEqualTo(new Result(null, "No tag <think>here</think> in the middle"));
    }

    @Test
    void parsesDeepSeekR1StyleOutputWhereThePromptOpenedTheBlock() {
        assertThat(OPENED.parse("Hmm, 2+2.\n</think>\n\n4")).isEqualTo(new Result("Hmm, 2+2.", "4"));
        assertThat(OPENED.parse("still thinking")).isEqualTo(new Result("still thinking", ""));
        assertThat(OPENED.parse("a</think>b</think>c")).isEqualTo(new Result("a", "b</think>c"));
    }

    static final List<String> SAMPLES = List.of(
            "<think>\nLet me add.\n2+2=4\n</think>\n\nThe answer is 4.",
            "  <think>  x  </think>  y  ",
            "<think>a </thin b</think>c",
            "<think>a </think",
            "<thi",
            "<thinking is fun",
            "Plain answer with </think> inside",
            "\n\n<think></think>",
            "<think>多语言 😀 推理\n</think>\n答案 ✓",
            "");

    @Test
    void streamingEqualsParseForEveryChunking() {
        Random rnd = new Random(1234);
        for (ReasoningParser p : List.of(PLAIN, OPENED)) {
            for (String text : concat(SAMPLES, List.of("Hmm </think> 4", "</think>", "a\n</th", " x </think>"))) {
                Result whole = p.parse(text);
                // every single split point, then random multi-way splits
                for (int cut = 0; cut <= text.length(); cut++) {
                    check(p, text, whole, List.of(text.substring(0, cut), text.substring(cut)));
                }
                for (int trial = 0; trial < 200; trial++) {
                    List<String> chunks = new ArrayList<>();
                    int pos = 0;
                    while (pos < text.length()) {
                        int n = 1 + rnd.nextInt(4);
                        chunks.add(text.substring(pos, Math.min(text.length(), pos + n)));
                        pos += n;
                    }
                    check(p, text, whole, chunks);
                }
            }
        }
    }

    @Test
    void streamNeverEmitsAPartialClosingTag() {
        ReasoningParser.Stream s = OPENED.stream();
        StringBuilder reasoning = new StringBuilder();
        for (String c : List.of("thinking", " hard", "</", "thi", "nk", ">", "\n\nDone")) {
            Delta d = s.feed(c);
            reasoning.append(d.reasoningDelta());
            assertThat(reasoning.toString()).doesNotContain("<").doesNotEndWith(" ");
            if (c.equals("</") || c.equals("thi") || c.equals("nk")) {
                assertThat(d.isEmpty()).isTrue();
            }
        }
        assertThat(reasoning.toString()).isEqualTo("thinking hard");
        assertThat(s.finish().isEmpty()).isTrue();
    }

    private static void check(ReasoningParser p, String text, Result whole, List<String> chunks) {
        ReasoningParser.Stream s = p.stream();
        StringBuilder r = new StringBuilder();
        StringBuilder c = new StringBuilder();
        for (String chunk : chunks) {
            Delta d = s.feed(chunk);
            r.append(d.reasoningDelta());
            c.append(d.contentDelta());
        }
        Delta d = s.finish();
        r.append(d.reasoningDelta());
        c.append(d.contentDelta());
        assertThat(Map.of("reasoning", r.toString(), "content", c.toString(), "saw", s.sawReasoning()))
                .as("chunks %s of %s", chunks, text)
                .isEqualTo(Map.of("reasoning", whole.reasoning() == null ? "" : whole.reasoning(),
                        "content", whole.content(), "saw", whole.reasoning() != null));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
