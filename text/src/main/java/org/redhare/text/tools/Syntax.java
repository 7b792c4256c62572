package org.redhare.text.tools;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How one format marks tool calls in text. A reply is plain text with call regions in it; {@link ToolCallParser.Stream}
 * walks the text, asks the syntax where a region starts and holds back what may still become one.
 */
interface Syntax {
    /** Index in {@code text} where a call region starts, or -1. {@code atReplyStart}: nothing but whitespace came before. */
    int findStart(CharSequence text, boolean atReplyStart);

    /** How many trailing characters of {@code text} (which holds no region start) could begin one once more text comes. */
    int partialStart(CharSequence text, boolean atReplyStart);

    /**
     * Reads the region at the start of {@code region}: null when more text is needed (never when {@code last}), else
     * how much it consumed and the calls it held (null: it was not a valid call, the consumed text is plain content).
     */
    Step parseRegion(String region, boolean last);

    /**
     * {@link #parseRegion(String, boolean)} knowing, per tool name, which arguments the request's schemas type as strings:
     * for formats that write argument values unquoted, where only the schema tells "2024" the string from 2024 the number.
     */
    default Step parseRegion(String region, boolean last, Map<String, Set<String>> stringArguments) {
        return parseRegion(region, last);
    }

    /**
     * Whether a call is only believed when it names one of the request's tools: for formats whose calls look like
     * ordinary JSON answers.
     */
    default boolean needsKnownName() {
        return false;
    }

    record Step(int consumed, List<ToolCall> calls) {
        static Step invalid(int consumed) {
            return new Step(consumed, null);
        }

        static Step of(int consumed, ToolCall call) {
            return new Step(consumed, call == null ? null : List.of(call));
        }
    }
}
