package org.redhare.text.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Earlier tool calls in a conversation, shaped for the chat template. OpenAI clients send an assistant message's
 * {@code tool_calls[].function.arguments} as a JSON string, while most templates (Qwen, Llama 3.1, Mistral, Hermes)
 * expect a mapping they render with {@code tojson} (a string would come out quoted twice). So a string that parses as
 * a JSON object becomes that object, as vLLM does, unless the template glues the arguments to other strings with
 * {@code +} (DeepSeek-V3), which needs the string.
 *
 * <p>An assistant turn that only calls tools comes with {@code content: null}. Templates that test for that
 * ({@code content is none}, DeepSeek-V3) get null; the others get "" (Qwen3's applies {@code in} to the content,
 * which fails on None), as vLLM passes text content.
 */
public final class ToolMessages {
    private static final Pattern CONCATENATES_ARGUMENTS = Pattern.compile("arguments['\"]?\\]?\\s*\\+");
    private static final Pattern TESTS_FOR_NONE_CONTENT = Pattern.compile("(?:\\.content|\\[['\"]content['\"]\\])\\s+is\\s+(?:not\\s+)?none");
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};

    private ToolMessages() {}

    /** The messages with tool-call arguments as the template expects them; the list itself when nothing changes. */
    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> forTemplate(List<Map<String, Object>> messages, String templateSource) {
        boolean keepStrings = templateSource != null && CONCATENATES_ARGUMENTS.matcher(templateSource).find();
        boolean keepNull = templateSource != null && TESTS_FOR_NONE_CONTENT.matcher(templateSource).find();
        List<Map<String, Object>> out = null;
        for (int i = 0; i < messages.size(); i++) {
            Map<String, Object> m = messages.get(i);
            if (!keepNull && "assistant".equals(m.get("role")) && m.containsKey("content") && m.get("content") == null) {
                if (out == null) {
                    out = new ArrayList<>(messages);
                }
                m = new LinkedHashMap<>(m);
                m.put("content", "");
                out.set(i, m);
            }
            if (keepStrings || !(m.get("tool_calls") instanceof List<?> calls) || calls.isEmpty()) {
                continue;
            }
            List<Object> newCalls = new ArrayList<>();
            boolean changed = false;
            for (Object c : calls) {
                if (c instanceof Map<?, ?> call && call.get("function") instanceof Map<?, ?> fn && fn.get("arguments") instanceof String s) {
                    Map<String, Object> args = object(s);
                    if (args != null) {
                        Map<String, Object> newFn = new LinkedHashMap<>((Map<String, Object>) fn);
                        newFn.put("arguments", args);
                        Map<String, Object> newCall = new LinkedHashMap<>((Map<String, Object>) call);
                        newCall.put("function", newFn);
                        newCalls.add(newCall);
                        changed = true;
                        continue;
                    }
                }
                newCalls.add(c);
            }
            if (changed) {
                if (out == null) {
                    out = new ArrayList<>(messages);
                }
                Map<String, Object> copy = new LinkedHashMap<>(m);
                copy.put("tool_calls", newCalls);
                out.set(i, copy);
            }
        }
        return out == null ? messages : out;
    }

    private static Map<String, Object> object(String json) {
        String t = json.strip();
        if (!t.startsWith("{")) {
            return null;
        }
        try {
            return CallJson.JSON.readValue(t, MAP);
        } catch (JsonProcessingException e) {
            return null; // not JSON: the template gets the string as sent
        }
    }
}
