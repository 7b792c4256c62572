package org.redhare.text.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.Set;

/**
 * GLM-4.5 / 4.6 / 4.7, as their chat template writes calls: {@code <tool_call>NAME} then, for each argument,
 * {@code <arg_key>KEY</arg_key>} and {@code <arg_value>VALUE</arg_value>} (newlines or spaces between them), then
 * {@code </tool_call>}. The template writes a string argument as it is and any other as JSON. So an argument the tool's
 * schema types as a string is the text written, whatever it looks like ("2024", "true", "[1]"), as GLM's own parsers
 * read it; any other (untyped, or a tool the request did not declare) is read as the JSON value it is when it is a whole
 * JSON value other than a quoted string (a number, true/false/null, an object, an array), and as a string otherwise.
 */
final class Glm45Syntax implements Syntax {
    static final String OPEN = HermesSyntax.OPEN; // the same region markers as Hermes: only the call inside differs
    static final String CLOSE = HermesSyntax.CLOSE;
    private static final HermesSyntax REGIONS = new HermesSyntax();
    static final String KEY_OPEN = "<arg_key>";
    static final String KEY_CLOSE = "</arg_key>";
    static final String VALUE_OPEN = "<arg_value>";
    static final String VALUE_CLOSE = "</arg_value>";

    @Override
    public int findStart(CharSequence text, boolean atReplyStart) {
        return REGIONS.findStart(text, atReplyStart);
    }

    @Override
    public int partialStart(CharSequence text, boolean atReplyStart) {
        return REGIONS.partialStart(text, atReplyStart);
    }

    @Override
    public Step parseRegion(String region, boolean last) {
        return parseRegion(region, last, Map.of());
    }

    @Override
    public Step parseRegion(String region, boolean last, Map<String, Set<String>> stringArguments) {
        int end = region.indexOf(CLOSE, OPEN.length());
        if (end < 0) {
            return last ? Step.invalid(region.length()) : null; // a call the generation never closed is text
        }
        return Step.of(end + CLOSE.length(), call(region.substring(OPEN.length(), end), stringArguments));
    }

    private static ToolCall call(String body, Map<String, Set<String>> stringArguments) {
        int k = body.indexOf(KEY_OPEN);
        String name = (k < 0 ? body : body.substring(0, k)).strip();
        if (name.isEmpty() || name.contains("<") || name.contains("{") || name.contains("\n")) {
            return null; // no name, or JSON (another format's call): not this format's
        }
        Set<String> strings = stringArguments.getOrDefault(name, Set.of());
        ObjectNode args = CallJson.JSON.createObjectNode();
        int i = k < 0 ? body.length() : k;
        while (i < body.length()) {
            if (!body.startsWith(KEY_OPEN, i)) {
                return null;
            }
            int ke = body.indexOf(KEY_CLOSE, i);
            if (ke < 0) {
                return null;
            }
            String key = body.substring(i + KEY_OPEN.length(), ke).strip();
            int v = CallJson.skipSpace(body, ke + KEY_CLOSE.length());
            if (!body.startsWith(VALUE_OPEN, v)) {
                return null;
            }
            int ve = body.indexOf(VALUE_CLOSE, v);
            if (ve < 0 || key.isEmpty()) {
                return null;
            }
            String raw = body.substring(v + VALUE_OPEN.length(), ve);
            args.set(key, strings.contains(key) ? CallJson.JSON.getNodeFactory().textNode(raw) : value(raw));
            i = CallJson.skipSpace(body, ve + VALUE_CLOSE.length());
        }
        return new ToolCall(name, CallJson.arguments(args));
    }

    /** Whole JSON values only: "24 hours" is a string, not 24 with text after it. */
    private static final com.fasterxml.jackson.databind.ObjectReader STRICT =
            CallJson.JSON.reader().with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static JsonNode value(String raw) {
        String t = raw.strip();
        if (!t.isEmpty() && !t.startsWith("\"")) {
            try {
                JsonNode n = STRICT.readTree(t);
                if (n != null && !n.isMissingNode()) {
                    return n;
                }
            } catch (java.io.IOException e) {
                // not JSON: a string
            }
        }
        return CallJson.JSON.getNodeFactory().textNode(raw);
    }
}
