package org.redhare.text.tools;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * DeepSeek-V3 / R1, as their chat template writes calls:
 * {@code <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>},
 * further calls after a newline, then {@code <｜tool▁calls▁end｜>}. Each call block is one region (the outer
 * begin/end markers are taken with the first and last block), so every call is emitted as soon as it closes.
 * V3.1's shorter {@code <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{...}<｜tool▁call▁end｜>} is read too.
 */
final class DeepSeekV3Syntax implements Syntax {
    static final String CALLS_BEGIN = "<｜tool▁calls▁begin｜>";
    static final String CALLS_END = "<｜tool▁calls▁end｜>";
    static final String CALL_BEGIN = "<｜tool▁call▁begin｜>";
    static final String CALL_END = "<｜tool▁call▁end｜>";
    static final String SEP = "<｜tool▁sep｜>";

    @Override
    public int findStart(CharSequence text, boolean atReplyStart) {
        String s = text.toString();
        int a = s.indexOf(CALLS_BEGIN);
        int b = s.indexOf(CALL_BEGIN);
        return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }

    @Override
    public int partialStart(CharSequence text, boolean atReplyStart) {
        return Math.max(CallJson.partialSuffix(text, CALLS_BEGIN), CallJson.partialSuffix(text, CALL_BEGIN));
    }

    @Override
    public Step parseRegion(String region, boolean last) {
        int i = 0;
        if (region.startsWith(CALLS_BEGIN)) {
            i = CallJson.skipSpace(region, CALLS_BEGIN.length());
            if (CallJson.isProperPrefixOf(region, i, CALL_BEGIN)) {
                return last ? Step.invalid(region.length()) : null;
            }
            if (!region.startsWith(CALL_BEGIN, i)) {
                return Step.invalid(i); // an opening marker with no call after it: plain text
            }
        }
        int body = i + CALL_BEGIN.length();
        int end = region.indexOf(CALL_END, body);
        if (end < 0) {
            return last ? Step.invalid(region.length()) : null;
        }
        ToolCall call = call(region.substring(body, end));
        int after = end + CALL_END.length();
        int j = CallJson.skipSpace(region, after);
        if (region.startsWith(CALLS_END, j)) {
            return Step.of(j + CALLS_END.length(), call);
        }
        if (!last && CallJson.isProperPrefixOf(region, j, CALLS_END)) {
            return null; // the closing marker of the whole list may follow
        }
        return Step.of(after, call);
    }

    /** {@code function<sep>NAME\n```json\n{...}\n```} or {@code NAME<sep>{...}}. */
    private static ToolCall call(String body) {
        int sep = body.indexOf(SEP);
        if (sep < 0) {
            return null;
        }
        String head = body.substring(0, sep).strip();
        String rest = body.substring(sep + SEP.length());
        String name;
        String args;
        if (rest.strip().startsWith("{")) {
            name = head;
            args = rest.strip();
        } else {
            int nl = rest.indexOf('\n');
            if (nl < 0) {
                return null;
            }
            name = rest.substring(0, nl).strip();
            args = rest.substring(nl + 1).strip();
            if (args.startsWith("```")) {
                args = args.substring(3);
                if (args.startsWith("json")) {
                    args = args.substring(4);
                }
                args = args.strip();
                if (!args.endsWith("```")) {
                    return null;
                }
                args = args.substring(0, args.length() - 3).strip();
            }
        }
        if (name.isEmpty() || !args.startsWith("{")) {
            return null;
        }
        JsonNode a = CallJson.read(args);
        String json = a == null ? null : CallJson.arguments(a);
        return json == null ? null : new ToolCall(name, json);
    }
}
