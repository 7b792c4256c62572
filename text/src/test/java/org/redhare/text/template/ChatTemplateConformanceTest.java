package org.redhare.text.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.redhare.core.testing.SharedFiles;

/**
 * Every case of conformance/chat-templates/manifest.json: 17 real chat templates x 8 conversations rendered by Python
 * Jinja2 as transformers configures it. Text cases must match byte for byte; error cases must raise the same kind
 * (and, for raise_exception, the same message).
 */
class ChatTemplateConformanceTest {

    static final Clock FIXED = Clock.fixed(LocalDateTime.of(2024, 7, 26, 12, 0, 0).toInstant(ZoneOffset.UTC),
            ZoneOffset.UTC);

    @TestFactory
    Stream<DynamicTest> everyManifestCase() throws IOException {
        Path dir = SharedFiles.require("conformance/chat-templates");
        ObjectMapper json = new ObjectMapper();
        @SuppressWarnings("unchecked")
        Map<String, Object> manifest = json.readValue(dir.resolve("manifest.json").toFile(), LinkedHashMap.class);
        @SuppressWarnings("unchecked")
        Map<String, Object> convFile = json.readValue(dir.resolve("conversations.json").toFile(), LinkedHashMap.class);
        Map<String, Map<String, Object>> conversations = new HashMap<>();
        for (Object c : (List<?>) convFile.get("conversations")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> conv = (Map<String, Object>) c;
            conversations.put((String) conv.get("id"), conv);
        }
        Map<String, ChatTemplate> compiled = new HashMap<>();
        List<DynamicTest> tests = new ArrayList<>();
        for (Object o : (List<?>) manifest.get("cases")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> c = (Map<String, Object>) o;
            String id = (String) c.get("id");
            tests.add(DynamicTest.dynamicTest(id, () -> {
                String file = (String) c.get("template_file");
                ChatTemplate t = compiled.computeIfAbsent(file, f -> {
                    try {
                        return ChatTemplate.compile(Files.readString(dir.resolve(f), StandardCharsets.UTF_8))
                                .withClock(FIXED);
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                @SuppressWarnings("unchecked")
                Map<String, Object> vars = new LinkedHashMap<>((Map<String, Object>) c.get("variables"));
                vars.put("messages", conversations.get((String) c.get("conversation")).get("messages"));
                if (c.get("expect").equals("text")) {
                    String expected = Files.readString(dir.resolve((String) c.get("expected_file")), StandardCharsets.UTF_8);
                    String actual;
                    try {
                        actual = t.render(vars);
                    } catch (TemplateException e) {
                        throw new AssertionError(id + ": expected text but got " + e.getMessage(), e);
                    }
                    if (!expected.equals(actual)) {
                        fail(id + ": rendering differs\n" + diff(expected, actual));
                    }
                } else {
                    String kind = ((String) c.get("error_kind")).replace("builtins.", "");
                    String message = (String) c.get("error_message");
                    assertThatThrownBy(() -> t.render(vars)).as(id).isInstanceOfSatisfying(TemplateException.class, e -> {
                        assertThat(e.kind()).as(id + " kind (" + e.getMessage() + ")").isEqualTo(kind);
                        assertThat(e.line()).as(id + " line").isPositive();
                        if (kind.equals("raise_exception") || kind.equals("TypeError")) {
                            assertThat(e.detail()).as(id + " message").isEqualTo(message);
                        }
                    });
                }
            }));
        }
        return tests.stream();
    }

    /** First differing position with context, both sides escaped so whitespace is visible. */
    static String diff(String expected, String actual) {
        int i = 0;
        while (i < expected.length() && i < actual.length() && expected.charAt(i) == actual.charAt(i)) {
            i++;
        }
        int from = Math.max(0, i - 120);
        return "first difference at char " + i + " (expected length " + expected.length() + ", actual "
                + actual.length() + ")\n  expected: …" + visible(expected.substring(from, Math.min(expected.length(), i + 120)))
                + "\n  actual:   …" + visible(actual.substring(from, Math.min(actual.length(), i + 120)));
    }

    private static String visible(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t");
    }
}
