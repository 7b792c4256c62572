package org.redhare.text.template;

/**
 * Splits the reasoning of thinking models (Qwen3, DeepSeek-R1 and their distills) from the answer:
 * {@code <think>reasoning</think>answer}.
 *
 * <p>Some templates open the think block in the prompt itself (DeepSeek-R1's ends in {@code <think>\n}); then the
 * generated text starts inside the reasoning and only the closing tag appears. {@link #forPrompt} looks at the end of
 * the rendered prompt to know which case applies. Qwen3 with {@code enable_thinking=false} closes an empty block in the
 * prompt, so its output is all answer.
 *
 * <p>Normalisation (the same in {@link #parse} and in {@link Stream}): the reasoning is stripped of surrounding
 * whitespace, the answer after {@code </think>} of leading whitespace; output without a think block is returned
 * unchanged as content. Output that never closes its think block is all reasoning (a truncated generation).
 */
public final class ReasoningParser {

    static final String OPEN = "<think>";
    static final String CLOSE = "</think>";

    private final boolean startsInReasoning;
    private final boolean closedInPrompt;

    private ReasoningParser(boolean startsInReasoning, boolean closedInPrompt) {
        this.startsInReasoning = startsInReasoning;
        this.closedInPrompt = closedInPrompt;
    }

    /** A parser for text generated after this prompt: in reasoning from the start when the prompt ends in an open &lt;think&gt;. */
    public static ReasoningParser forPrompt(String renderedPrompt) {
        String p = renderedPrompt == null ? "" : Py.rstrip(renderedPrompt);
        return new ReasoningParser(p.endsWith(OPEN), p.endsWith(CLOSE));
    }

    /** The tag that opens the reasoning ({@code <think>}). */
    public static String openTag() {
        return OPEN;
    }

    /** The tag that ends the reasoning ({@code </think>}). */
    public static String closeTag() {
        return CLOSE;
    }

    /**
     * Whether the reply may open a think block itself (Qwen3 writes {@code <think>} first): the prompt neither opened
     * one nor ended with an empty one (as Qwen3's template does for {@code enable_thinking: false}).
     */
    public boolean mayOpenReasoning() {
        return !startsInReasoning && !closedInPrompt;
    }

    /** Whether generated text begins inside the reasoning (the prompt opened the think block). */
    public boolean startsInReasoning() {
        return startsInReasoning;
    }

    /** reasoning is null when the text has no think block; content is never null. */
    public record Result(String reasoning, String content) {
    }

    /** One step of streamed output; both parts are "" (never null) when there is nothing new. */
    public record Delta(String reasoningDelta, String contentDelta) {
        static final Delta NONE = new Delta("", "");

        public boolean isEmpty() {
            return reasoningDelta.isEmpty() && contentDelta.isEmpty();
        }
    }

    public Result parse(String generatedText) {
        String text = generatedText == null ? "" : generatedText;
        String body;
        if (startsInReasoning) {
            body = text;
        } else {
            String t = Py.strip(text, null, true, false);
            if (!t.startsWith(OPEN)) {
                return new Result(null, text);
            }
            body = t.substring(OPEN.length());
        }
        int end = body.indexOf(CLOSE);
        if (end < 0) {
            return new Result(Py.strip(body, null, true, true), "");
        }
        return new Result(Py.strip(body.substring(0, end), null, true, true),
                Py.strip(body.substring(end + CLOSE.length()), null, true, false));
    }

    /** A fresh incremental splitter for one generation. */
    public Stream stream() {
        return new Stream(startsInReasoning);
    }

    /**
     * Incremental split of streamed text. Holds back just enough text to never emit part of a {@code </think>} tag (or
     * whitespace that may turn out to end the reasoning), so the concatenated deltas equal {@link #parse} of the whole
     * text for any chunking.
     */
    public static final class Stream {
        private enum State { START, REASONING, AFTER_THINK, CONTENT }

        private State state;
        private final StringBuilder pending = new StringBuilder();
        private boolean reasoningStarted;
        private boolean sawThink;

        Stream(boolean startsInReasoning) {
            this.state = startsInReasoning ? State.REASONING : State.START;
            this.sawThink = startsInReasoning;
        }

        /** Whether a think block was seen (so far). */
        public boolean sawReasoning() {
            return sawThink;
        }

        public Delta feed(String delta) {
            if (delta == null || delta.isEmpty()) {
                return Delta.NONE;
            }
            pending.append(delta);
            return advance(false);
        }

        /** Flushes whatever was held back; call once at the end of generation. */
        public Delta finish() {
            return advance(true);
        }

        private Delta advance(boolean last) {
            StringBuilder reasoning = new StringBuilder();
            StringBuilder content = new StringBuilder();
            while (true) {
                switch (state) {
                    case START -> {
                        String t = Py.strip(pending.toString(), null, true, false);
                        if (t.startsWith(OPEN)) {
                            String rest = t.substring(OPEN.length());
                            pending.setLength(0);
                            pending.append(rest);
                            state = State.REASONING;
                            sawThink = true;
                            continue;
                        }
                        if (!last && (t.isEmpty() || OPEN.startsWith(t))) {
                            return new Delta("", "");         // could still become "<think>"
                        }
                        state = State.CONTENT;
                        continue;
                    }
                    case REASONING -> {
                        String r = pending.toString();
                        int end = r.indexOf(CLOSE);
                        if (end >= 0) {
                            emitReasoning(Py.rstrip(r.substring(0, end)), reasoning);
                            pending.setLength(0);
                            pending.append(r.substring(end + CLOSE.length()));
                            state = State.AFTER_THINK;
                            continue;
                        }
                        if (last) {
                            emitReasoning(Py.rstrip(r), reasoning);
                            pending.setLength(0);
                            return new Delta(reasoning.toString(), content.toString());
                        }
                        int keep = r.length() - partialCloseLength(r);
                        while (keep > 0 && Py.isSpace(r.charAt(keep - 1))) {
                            keep--;
                        }
                        emitReasoning(r.substring(0, keep), reasoning);
                        pending.delete(0, keep);
                        return new Delta(reasoning.toString(), content.toString());
                    }
                    case AFTER_THINK -> {
                        String c = Py.strip(pending.toString(), null, true, false);
                        pending.setLength(0);
                        if (!c.isEmpty()) {
                            content.append(c);
                            state = State.CONTENT;
                        }
                        return new Delta(reasoning.toString(), content.toString());
                    }
                    case CONTENT -> {
                        content.append(pending);
                        pending.setLength(0);
                        return new Delta(reasoning.toString(), content.toString());
                    }
                }
            }
        }

        private void emitReasoning(String s, StringBuilder out) {
            String x = reasoningStarted ? s : Py.strip(s, null, true, false);
            if (!x.isEmpty()) {
                reasoningStarted = true;
                out.append(x);
            }
        }

        /** Length of the longest suffix of s that is a proper prefix of "</think>". */
        private static int partialCloseLength(String s) {
            for (int n = Math.min(CLOSE.length() - 1, s.length()); n > 0; n--) {
                if (s.regionMatches(s.length() - n, CLOSE, 0, n)) {
                    return n;
                }
            }
            return 0;
        }
    }
}
