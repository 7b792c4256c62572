package org.redhare.cli;

import java.io.PrintStream;

/**
 * Prints a streamed reply with the model's reasoning ({@code <think>…</think>}) set apart from the
 * answer: reasoning dimmed under a "thinking" marker on a terminal, the answer in plain text.
 */
final class ReasoningView {
    private static final String DIM = "\u001b[2m";
    private static final String RESET = "\u001b[0m";

    private final PrintStream out;
    private final TextCodec.Splitter splitter;
    private final boolean ansi = System.console() != null;
    private final StringBuilder answer = new StringBuilder();
    private boolean inReasoning;
    private boolean sawReasoning;

    ReasoningView(PrintStream out, TextCodec.Splitter splitter) {
        this.out = out;
        this.splitter = splitter;
    }

    void append(String delta) {
        if (delta == null || delta.isEmpty()) {
            return;
        }
        splitter.push(delta, this::reasoning, this::content);
    }

    private void reasoning(String s) {
        if (s.isEmpty()) {
            return;
        }
        if (!inReasoning) {
            out.print(ansi ? DIM + "[thinking] " : "[thinking] ");
            inReasoning = true;
            sawReasoning = true;
        }
        out.print(s);
        out.flush();
    }

    private void content(String s) {
        if (s.isEmpty()) {
            return;
        }
        if (inReasoning) {
            out.print(ansi ? RESET + "\n[answer] " : "\n[answer] ");
            inReasoning = false;
        }
        if (answer.isEmpty()) {
            s = sawReasoning ? s.stripLeading() : s;
        }
        answer.append(s);
        out.print(s);
        out.flush();
    }

    void finish() {
        splitter.flush(this::reasoning, this::content);
        if (inReasoning && ansi) {
            out.print(RESET);
        }
        out.println();
    }

    /** The answer without the reasoning (what goes back into the conversation). */
    String answer() {
        return answer.toString();
    }
}
