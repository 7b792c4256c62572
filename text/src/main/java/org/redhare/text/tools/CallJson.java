package org.redhare.text.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** JSON pieces of tool calls: where a JSON value ends in streamed text, and a call object's name and arguments. */
final class CallJson {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The value is not complete yet: more text may finish it. */
    static final int INCOMPLETE = -1;

    private CallJson() {}

    /**
     * The index just past the JSON object or array that starts at {@code from} (a '{' or '['), found by
     * bracket depth outside strings; {@link #INCOMPLETE} when the text ends first. Whether the value is valid JSON
     * is left to the real parser: this only says where to cut.
     */
    static int valueEnd(CharSequence s, int from) {
        int depth = 0;
        boolean inString = false;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++; // the escaped character cannot end the string
                } else if (c == '"') {
                    inString = false;
                }
                continue;
            }
            switch (c) {
                case '"' -> inString = true;
                case '{', '[' -> depth++;
                case '}', ']' -> {
                    depth--;
                    if (depth == 0) {
                        return i + 1;
                    }
                }
                default -> { }
            }
        }
        return INCOMPLETE;
    }

    /** The parsed JSON text, or null when it is not valid JSON. */
    static JsonNode read(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /**
     * A call from an object {@code {"name": ..., "arguments": {...}}} ({@code "parameters"} is Llama's spelling of the
     * arguments); null when the object is not one. Missing arguments are {@code {}}.
     */
    static ToolCall call(JsonNode n) {
        if (n == null || !n.isObject() || !n.path("name").isTextual() || n.get("name").asText().isBlank()) {
            return null;
        }
        JsonNode args = n.has("arguments") ? n.get("arguments") : n.get("parameters");
        String a = arguments(args);
        return a == null ? null : new ToolCall(n.get("name").asText(), a);
    }

    /**
     * Arguments as compact JSON object text; null when they are not an object. Some models write the arguments as a
     * string holding the JSON object: that string is read.
     */
    static String arguments(JsonNode args) {
        if (args == null || args.isNull()) {
            return "{}";
        }
        if (args.isTextual()) {
            args = read(args.asText());
        }
        if (args == null || !args.isObject()) {
            return null;
        }
        try {
            return JSON.writeValueAsString(args);
        } catch (JsonProcessingException e) {
            return null; // a tree that was just parsed always writes
        }
    }

    /** The longest suffix of {@code s} that is a proper prefix of {@code marker}. */
    static int partialSuffix(CharSequence s, String marker) {
        for (int n = Math.min(marker.length() - 1, s.length()); n > 0; n--) {
            boolean match = true;
            for (int k = 0; k < n; k++) {
                if (s.charAt(s.length() - n + k) != marker.charAt(k)) {
                    match = false;
                    break;
                }
            }
            if (match) {
                return n;
            }
        }
        return 0;
    }

    static boolean isSpace(char c) {
        return c == ' ' || c == '\n' || c == '\t' || c == '\r';
    }

    static int skipSpace(CharSequence s, int i) {
        while (i < s.length() && isSpace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    static boolean startsWith(CharSequence s, String prefix, int at) {
        if (at + prefix.length() > s.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (s.charAt(at + k) != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code s[at:]} is a proper prefix of {@code marker} (the empty rest included). */
    static boolean isProperPrefixOf(CharSequence s, int at, String marker) {
        int n = s.length() - at;
        return n < marker.length() && marker.startsWith(s.subSequence(at, s.length()).toString());
    }
}
