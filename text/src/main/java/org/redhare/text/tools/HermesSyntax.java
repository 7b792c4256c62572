package org.redhare.text.tools;

/**
 * Hermes style (NousResearch Hermes 2 Pro, Qwen2.5, Qwen3): each call is a JSON object
 * {@code {"name": ..., "arguments": {...}}} between {@code <tool_call>} and {@code </tool_call>}; several blocks may
 * follow each other. A last block the generation never closed is still read when its JSON is complete.
 */
final class HermesSyntax implements Syntax {
    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";

    @Override
    public int findStart(CharSequence text, boolean atReplyStart) {
        return text.toString().indexOf(OPEN);
    }

    @Override
    public int partialStart(CharSequence text, boolean atReplyStart) {
        return CallJson.partialSuffix(text, OPEN);
    }

    @Override
    public Step parseRegion(String region, boolean last) {
        int end = region.indexOf(CLOSE, OPEN.length());
        if (end < 0) {
            return last ? Step.of(region.length(), body(region.substring(OPEN.length()))) : null;
        }
        return Step.of(end + CLOSE.length(), body(region.substring(OPEN.length(), end)));
    }

    private static ToolCall body(String json) {
        String t = json.strip();
        if (!t.startsWith("{") || CallJson.valueEnd(t, 0) != t.length()) {
            return null; // one object and nothing else
        }
        return CallJson.call(CallJson.read(t));
    }
}
