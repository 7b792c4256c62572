package org.redhare.text.tools;

import java.util.ArrayList;
import java.util.List;

/**
 * Llama 3.1 / 3.2 JSON tool calls: the whole reply is {@code {"name": ..., "parameters": {...}}} (or
 * {@code "arguments"}), optionally after {@code <|python_tag|>}; several calls are separated by {@code ;}. Only a
 * reply that starts that way is a call, and it is judged when the reply has ended, because the same shape is also an
 * ordinary JSON answer: the call must name one of the request's tools.
 */
final class Llama3JsonSyntax implements Syntax {
    static final String PYTHON_TAG = "<|python_tag|>";

    @Override
    public int findStart(CharSequence text, boolean atReplyStart) {
        if (!atReplyStart) {
            return -1;
        }
        int i = CallJson.skipSpace(text, 0);
        if (i < text.length() && (text.charAt(i) == '{' || CallJson.startsWith(text, PYTHON_TAG, i))) {
            return i;
        }
        return -1;
    }

    @Override
    public int partialStart(CharSequence text, boolean atReplyStart) {
        if (!atReplyStart) {
            return 0;
        }
        return CallJson.isProperPrefixOf(text, CallJson.skipSpace(text, 0), PYTHON_TAG) ? text.length() : 0;
    }

    @Override
    public Step parseRegion(String region, boolean last) {
        if (!last) {
            return null;
        }
        int i = region.startsWith(PYTHON_TAG) ? PYTHON_TAG.length() : 0;
        List<ToolCall> calls = new ArrayList<>();
        while (true) {
            i = CallJson.skipSpace(region, i);
            if (i < region.length() && region.charAt(i) == ';') {
                i++;
                continue;
            }
            if (i == region.length()) {
                break;
            }
            if (region.charAt(i) != '{') {
                return Step.invalid(region.length());
            }
            int end = CallJson.valueEnd(region, i);
            if (end < 0) {
                return Step.invalid(region.length());
            }
            ToolCall c = CallJson.call(CallJson.read(region.substring(i, end)));
            if (c == null) {
                return Step.invalid(region.length());
            }
            calls.add(c);
            i = end;
        }
        return calls.isEmpty() ? Step.invalid(region.length()) : new Step(region.length(), calls);
    }

    @Override
    public boolean needsKnownName() {
        return true;
    }
}
