package org.redhare.text.tools;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Splits a generated reply into plain content and tool calls, in one of the {@link ToolCallFormat}s.
 *
 * <p>Rules, the same for {@link #parse} and {@link Stream} under any chunking: text outside call regions is content,
 * except whitespace that only separates content from a call (dropped). A region that is not a valid call (bad JSON,
 * missing name, unknown tool where the format needs a known one, cut off by the end of the generation) is content
 * exactly as written, markers included: text is never lost and bad output never throws.
 */
public final class ToolCallParser {
    private final ToolCallFormat format;
    private final Set<String> toolNames;
    private final Map<String, Set<String>> stringArguments;
    private final String prefill;

    /** @param toolNames the request's function names; only formats whose calls look like plain JSON check them */
    public ToolCallParser(ToolCallFormat format, Collection<String> toolNames) {
        this(format, toolNames, Map.of());
    }

    /**
     * @param stringArguments for each tool (by name), the arguments its parameter schema types as strings: formats that write
     *                        argument values without JSON quoting (GLM-4.5) read those as the text written, whatever it looks
     *                        like ("2024" stays a string); see {@link ToolArguments#stringTyped}
     */
    public ToolCallParser(ToolCallFormat format, Collection<String> toolNames, Map<String, Set<String>> stringArguments) {
        this(format, Set.copyOf(toolNames), Map.copyOf(stringArguments), "");
    }

    private ToolCallParser(ToolCallFormat format, Set<String> toolNames, Map<String, Set<String>> stringArguments, String prefill) {
        this.format = format;
        this.toolNames = toolNames;
        this.stringArguments = stringArguments;
        this.prefill = prefill;
    }

    /** A parser for replies that continue {@code text}, which the prompt already ends with ({@link ToolCallFormat#prefill}). */
    public ToolCallParser withPrefill(String text) {
        return new ToolCallParser(format, toolNames, stringArguments, text);
    }

    public ToolCallFormat format() {
        return format;
    }

    /** The text the prompt ends with, which the reply continues ("" when none). */
    public String prefill() {
        return prefill;
    }

    /** The whole reply at once: its content and calls in order. */
    public record Result(String content, List<ToolCall> calls) {
    }

    /** One step of streamed output: new content ("" when none) and calls completed in this step. */
    public record Delta(String content, List<ToolCall> calls) {
        static final Delta NONE = new Delta("", List.of());

        public boolean isEmpty() {
            return content.isEmpty() && calls.isEmpty();
        }
    }

    public Result parse(String reply) {
        Stream s = stream();
        Delta a = s.feed(reply);
        Delta b = s.finish();
        List<ToolCall> calls = new ArrayList<>(a.calls());
        calls.addAll(b.calls());
        return new Result(a.content() + b.content(), List.copyOf(calls));
    }

    /** A fresh incremental parser for one reply. */
    public Stream stream() {
        Stream s = new Stream();
        if (!prefill.isEmpty()) {
            s.feed(prefill); // opens a region: nothing comes out yet
        }
        return s;
    }

    /**
     * Incremental parsing. Text that may still become (part of) a call is held back, like stop strings, until it is
     * decided; a call is emitted as soon as it is complete.
     */
    public final class Stream {
        private final StringBuilder pending = new StringBuilder();
        private boolean inRegion;
        private boolean atReplyStart = true; // nothing but whitespace has been content so far, and no call
        private boolean afterCall;           // whitespace right after a call is dropped
        private String droppedSpace = "";    // whitespace before the current region; content again if the region is not a call

        private Stream() {}

        public Delta feed(String text) {
            if (text == null || text.isEmpty()) {
                return Delta.NONE;
            }
            pending.append(text);
            return advance(false);
        }

        /** The reply has ended: decides whatever is held back. Call once. */
        public Delta finish() {
            return advance(true);
        }

        private Delta advance(boolean last) {
            StringBuilder content = new StringBuilder();
            List<ToolCall> calls = new ArrayList<>();
            Syntax syntax = format.syntax;
            while (true) {
                if (inRegion) {
                    Syntax.Step step = syntax.parseRegion(pending.toString(), last, stringArguments);
                    if (step == null) {
                        break;
                    }
                    List<ToolCall> got = step.calls();
                    if (got != null && syntax.needsKnownName() && !toolNames.isEmpty()
                            && got.stream().anyMatch(c -> !toolNames.contains(c.name()))) {
                        got = null;
                    }
                    if (got != null) {
                        calls.addAll(got);
                        afterCall = true;
                    } else {
                        content.append(droppedSpace).append(pending, 0, step.consumed());
                    }
                    pending.delete(0, step.consumed());
                    atReplyStart = false;
                    droppedSpace = "";
                    inRegion = false;
                    continue;
                }
                if (afterCall) {
                    int i = CallJson.skipSpace(pending, 0);
                    pending.delete(0, i);
                    if (pending.isEmpty()) {
                        break;
                    }
                    afterCall = false;
                }
                int start = syntax.findStart(pending, atReplyStart);
                if (start >= 0) {
                    int space = start;
                    while (space > 0 && CallJson.isSpace(pending.charAt(space - 1))) {
                        space--;
                    }
                    emit(content, space);
                    droppedSpace = pending.substring(0, start - space);
                    pending.delete(0, start - space);
                    inRegion = true;
                    continue;
                }
                if (last) {
                    emit(content, pending.length());
                    break;
                }
                int upTo = pending.length() - syntax.partialStart(pending, atReplyStart);
                while (upTo > 0 && CallJson.isSpace(pending.charAt(upTo - 1))) {
                    upTo--; // may turn out to separate content from a call
                }
                emit(content, upTo);
                break;
            }
            return content.isEmpty() && calls.isEmpty() ? Delta.NONE : new Delta(content.toString(), List.copyOf(calls));
        }

        /** Moves the first {@code n} pending characters to content. */
        private void emit(StringBuilder content, int n) {
            if (n == 0) {
                return;
            }
            for (int i = 0; i < n; i++) {
                if (!CallJson.isSpace(pending.charAt(i))) {
                    atReplyStart = false;
                    break;
                }
            }
            content.append(pending, 0, n);
            pending.delete(0, n);
        }
    }
}
