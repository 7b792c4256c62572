package org.redhare.text.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Errors name the template line, the Python error kind, and what was wrong. */
class TemplateErrorTest {

    private static TemplateException renderError(String source, Map<String, Object> vars) {
        try {
            ChatTemplate.compile(source).render(vars);
        } catch (TemplateException e) {
            return e;
        }
        throw new AssertionError("expected a TemplateException from:\n" + source);
    }

    private static TemplateException compileError(String source) {
        try {
            ChatTemplate.compile(source);
        } catch (TemplateException e) {
            return e;
        }
        throw new AssertionError("expected a syntax error from:\n" + source);
    }

    @Test
    void syntaxErrorsCarryTheirLine() {
        TemplateException e = compileError("line one\n{% if x %}\n  ok\n{{ 1 + }}\n{% endif %}");
        assertThat(e.kind()).isEqualTo("TemplateSyntaxError");
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.getMessage()).startsWith("template line 4: TemplateSyntaxError: ");

        e = compileError("{% for m in messages %}\n{{ m }}\n");
        assertThat(e.line()).isEqualTo(2);    // the end of the template, where endfor was expected
        assertThat(e.detail()).contains("'for'").contains("'endfor'");

        e = compileError("a\nb\n{% nonsense %}");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.detail()).contains("unknown tag 'nonsense'");

        e = compileError("{#\n\n#}{{ x | no_such_filter }}");
        assertThat(e.kind()).isEqualTo("TemplateAssertionError");
        assertThat(e.line()).isEqualTo(3);

        e = compileError("{{ 'unterminated }}");
        assertThat(e.line()).isEqualTo(1);
    }

    @Test
    void runtimeErrorsCarryTheLineOfTheFailingExpression() {
        String src = """
                {%- for m in messages %}
                  {%- if m.role == 'system' %}
                    {{- raise_exception('System role not supported') }}
                  {%- endif %}
                  {{- m.role + ': ' + m.content }}
                {%- endfor %}""";
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", List.of(Map.of("role", "system", "content", "s")));
        TemplateException e = renderError(src, vars);
        assertThat(e.kind()).isEqualTo("raise_exception");
        assertThat(e.detail()).isEqualTo("System role not supported");
        assertThat(e.line()).isEqualTo(3);

        Map<String, Object> nullContent = new HashMap<>();
        nullContent.put("role", "user");
        nullContent.put("content", null);
        vars.put("messages", List.of(nullContent));
        e = renderError(src, vars);
        assertThat(e.kind()).isEqualTo("TypeError");
        assertThat(e.detail()).isEqualTo("can only concatenate str (not \"NoneType\") to str");
        assertThat(e.line()).isEqualTo(5);
    }

    @Test
    void undefinedIsFalsyAndEmptyButFailsInArithmetic() {
        ChatTemplate t = ChatTemplate.compile("[{{ missing }}][{{ missing is defined }}][{% if missing %}x{% endif %}]");
        assertThat(t.render(Map.of())).isEqualTo("[][False][]");
        TemplateException e = renderError("ok\n{{ missing + 1 }}", Map.of());
        assertThat(e.kind()).isEqualTo("UndefinedError");
        assertThat(e.detail()).isEqualTo("'missing' is undefined");
        assertThat(e.line()).isEqualTo(2);
        e = renderError("{{ obj.a.b }}", Map.of("obj", Map.of()));
        assertThat(e.kind()).isEqualTo("UndefinedError");
        assertThat(e.detail()).isEqualTo("'dict object' has no attribute 'a'");
    }

    @Test
    void forLoopOverNoneIsATypeError() {
        Map<String, Object> vars = new HashMap<>();
        vars.put("tools", null);
        TemplateException e = renderError("\n\n{% for t in tools %}{{ t }}{% endfor %}", vars);
        assertThat(e.kind()).isEqualTo("TypeError");
        assertThat(e.detail()).isEqualTo("'NoneType' object is not iterable");
        assertThat(e.line()).isEqualTo(3);
    }

    @Test
    void sandboxRefusesMutatingMethods() {
        TemplateException e = renderError("{% set l = [] %}{{ l.append(1) }}", Map.of());
        assertThat(e.kind()).isEqualTo("SecurityError");
    }

    @Test
    void conversationApiPassesToolsNoneAndExtras() {
        ChatTemplate t = ChatTemplate.compile(
                "{{ bos_token }}{{ tools is none }}{{ documents is none }}{{ add_generation_prompt }}{{ enable_thinking }}");
        assertThat(t.render(List.of(), null, true, Map.of("bos_token", "<s>", "enable_thinking", false)))
                .isEqualTo("<s>TrueTrueTrueFalse");
        assertThatThrownBy(() -> ChatTemplate.compile(null)).isInstanceOf(NullPointerException.class);
    }
}
