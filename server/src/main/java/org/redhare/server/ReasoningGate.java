package org.redhare.server;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.redhare.text.template.ReasoningParser;

/**
 * The part of a reply a constraint leaves free: a think block, opened by the prompt (DeepSeek-R1's template) or by the
 * reply's first token (Qwen3 writes {@code <think>} itself), up to {@code </think>}. The constraint applies to what
 * follows, as the reasoning parser splits the reply: the answer, not the reasoning, must be the JSON or hold the calls.
 */
final class ReasoningGate {
    /** What {@link #peek}/{@link #accept} return for bytes that stay inside the reasoning. */
    static final byte[] FREE = new byte[0];
    private static final byte[] OPEN = ReasoningParser.openTag().getBytes(StandardCharsets.UTF_8);

    private MarkerWatch end;  // non-null while inside the reasoning
    private boolean mayOpen;  // before the first token, when the reply may open a block itself

    ReasoningGate(ReasoningParser parser) {
        this.end = parser != null && parser.startsInReasoning() ? new MarkerWatch(ReasoningParser.closeTag()) : null;
        this.mayOpen = parser != null && parser.mayOpenReasoning();
    }

    ReasoningGate(boolean startsInReasoning) {
        this.end = startsInReasoning ? new MarkerWatch(ReasoningParser.closeTag()) : null;
    }

    /** Whether the gate still has a say: inside the reasoning, or before a first token that may open it. */
    boolean active() {
        return end != null || mayOpen;
    }

    boolean reasoning() {
        return end != null;
    }

    /**
     * Where a token's bytes go, without taking them: {@link #FREE} when they stay inside the reasoning (or open it),
     * the bytes after {@code </think>} when they end it (a new array, maybe empty), or {@code bytes} itself when the
     * reasoning has nothing to do with them.
     */
    byte[] peek(byte[] bytes) {
        if (end != null) {
            byte[] rest = end.peek(bytes);
            return rest == null ? FREE : rest;
        }
        if (mayOpen && opens(bytes)) {
            byte[] rest = new MarkerWatch(ReasoningParser.closeTag()).peek(Arrays.copyOfRange(bytes, OPEN.length, bytes.length));
            return rest == null ? FREE : rest;
        }
        return bytes;
    }

    /** As {@link #peek}, taking the bytes. */
    byte[] accept(byte[] bytes) {
        boolean first = mayOpen;
        mayOpen = false;
        if (end == null && first && opens(bytes)) {
            end = new MarkerWatch(ReasoningParser.closeTag());
            bytes = Arrays.copyOfRange(bytes, OPEN.length, bytes.length);
        } else if (end == null) {
            return bytes;
        }
        byte[] rest = end.feed(bytes);
        if (rest == null) {
            return FREE;
        }
        end = null;
        return rest;
    }

    private static boolean opens(byte[] b) {
        return b.length >= OPEN.length && Arrays.equals(b, 0, OPEN.length, OPEN, 0, OPEN.length);
    }
}
