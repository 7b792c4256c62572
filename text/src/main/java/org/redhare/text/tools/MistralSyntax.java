package org.redhare.text.tools;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Mistral: {@code [TOOL_CALLS]} then a JSON array of {@code {"name": ..., "arguments": {...}}} objects (Mistral 7B
 * v0.3, Nemo); the later tokenizers' {@code [TOOL_CALLS]name[ARGS]{...}} is read too.
 */
final class MistralSyntax implements Syntax {
    static final String MARKER = "[TOOL_CALLS]";
    static final String ARGS = "[ARGS]";

    @Override
    public int findStart(CharSequence text, boolean atReplyStart) {
        return text.toString().indexOf(MARKER);
    }

    @Override
    public int partialStart(CharSequence text, boolean atReplyStart) {
        return CallJson.partialSuffix(text, MARKER);
    }

    @Override
    public Step parseRegion(String region, boolean last) {
        int i = CallJson.skipSpace(region, MARKER.length());
        if (i == region.length()) {
            return last ? Step.invalid(region.length()) : null;
        }
        char c = region.charAt(i);
        if (c == '[' || c == '{') {
            int end = CallJson.valueEnd(region, i);
            if (end < 0) {
                return last ? Step.invalid(region.length()) : null;
            }
            return new Step(end, calls(CallJson.read(region.substring(i, end))));
        }
        int args = region.indexOf(ARGS, i);
        if (args < 0) {
            return last ? Step.invalid(region.length()) : null;
        }
        String name = region.substring(i, args).strip();
        int j = CallJson.skipSpace(region, args + ARGS.length());
        if (j == region.length()) {
            return last ? Step.invalid(region.length()) : null;
        }
        if (region.charAt(j) != '{' || name.isEmpty()) {
            return Step.invalid(j);
        }
        int end = CallJson.valueEnd(region, j);
        if (end < 0) {
            return last ? Step.invalid(region.length()) : null;
        }
        JsonNode a = CallJson.read(region.substring(j, end));
        String arguments = a == null ? null : CallJson.arguments(a);
        return Step.of(end, arguments == null ? null : new ToolCall(name, arguments));
    }

    private static List<ToolCall> calls(JsonNode n) {
        if (n == null) {
            return null;
        }
        List<ToolCall> out = new ArrayList<>();
        for (JsonNode e : n.isArray() ? n : List.of(n)) {
            ToolCall c = CallJson.call(e);
            if (c == null) {
                return null;
            }
            out.add(c);
        }
        return out.isEmpty() ? null : out;
    }
}
