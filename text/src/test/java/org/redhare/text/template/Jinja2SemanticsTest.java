package org.redhare.text.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Expression, filter, test, statement and whitespace semantics, one snippet at a time, against goldens rendered by
 * Python Jinja2 3.1.6 (see make_snippet_goldens.py beside jinja2-snippets.json).
 */
class Jinja2SemanticsTest {

    static Stream<Arguments> snippets() throws IOException {
        try (InputStream in = Jinja2SemanticsTest.class.getResourceAsStream("jinja2-snippets.json")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> doc = new ObjectMapper().readValue(in, Map.class);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> cases = (List<Map<String, Object>>) doc.get("cases");
            return cases.stream().map(c -> Arguments.of(c.get("name") + ": " + c.get("template"), c));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("snippets")
    @SuppressWarnings("unchecked")
    void rendersLikePythonJinja2(String name, Map<String, Object> c) {
        String source = (String) c.get("template");
        Map<String, Object> vars = (Map<String, Object>) c.get("variables");
        if (c.get("expect").equals("text")) {
            String actual = ChatTemplate.compile(source).withClock(ChatTemplateConformanceTest.FIXED).render(vars);
            String expected = (String) c.get("text");
            assertThat(actual).as(() -> ChatTemplateConformanceTest.diff(expected, actual)).isEqualTo(expected);
        } else {
            assertThatThrownBy(() -> ChatTemplate.compile(source).render(vars))
                    .isInstanceOfSatisfying(TemplateException.class, e -> {
                        String kind = (String) c.get("error_kind");
                        // Jinja2 reports a few syntax problems as its TemplateSyntaxError subclasses or plain SyntaxError
                        if (kind.endsWith("SyntaxError")) {
                            assertThat(e.kind()).endsWith("SyntaxError");
                        } else {
                            assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind);
                        }
                        assertThat(e.line()).isPositive();
                        assertThat(e.getMessage()).startsWith("template line " + e.line() + ": ");
                    });
        }
    }
}
