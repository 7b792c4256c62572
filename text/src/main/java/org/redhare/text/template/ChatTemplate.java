package org.redhare.text.template;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.redhare.text.template.Node.Stmt;

/**
 * A compiled chat template. Compile once ({@link #compile}), render many times; instances are immutable and
 * thread-safe (each render has its own interpreter state).
 *
 * <p>Rendering follows Python Jinja2 3.1 exactly as Hugging Face transformers configures it (sandboxed, trim_blocks,
 * lstrip_blocks, loop controls, HF's {@code tojson}, {@code raise_exception}, {@code strftime_now}); see the package
 * documentation.
 */
public final class ChatTemplate {

    private final String source;
    private final List<Stmt> body;
    private final Clock clock;

    private ChatTemplate(String source, List<Stmt> body, Clock clock) {
        this.source = source;
        this.body = body;
        this.clock = clock;
    }

    /**
     * Parses a template.
     *
     * @throws TemplateException kind TemplateSyntaxError (with the line) when the template does not parse
     */
    public static ChatTemplate compile(String source) {
        Objects.requireNonNull(source, "template source");
        return new ChatTemplate(source, Parser.parse(source), Clock.systemDefaultZone());
    }

    /** The same template with {@code strftime_now} reading this clock (tests pin it). */
    public ChatTemplate withClock(Clock clock) {
        return new ChatTemplate(source, body, Objects.requireNonNull(clock, "clock"));
    }

    /** The template text as given to {@link #compile}. */
    public String source() {
        return source;
    }

    /**
     * Renders with all variables given. Values are Python-like: Map (dict), List (list), String, Number (int/float),
     * Boolean, null (None). A variable that is absent is undefined, which differs from one that is null.
     *
     * @throws TemplateException when rendering fails (the template raised, or a Python-level error occurred); its
     *                           {@link TemplateException#line()} says where
     */
    public String render(Map<String, Object> variables) {
        Map<String, Object> context = new LinkedHashMap<>();
        if (variables != null) {
            variables.forEach((k, v) -> context.put(k, normalize(v)));
        }
        try {
            return new Interpreter(context, clock).render(body);
        } catch (StackOverflowError e) {
            throw new TemplateException("RecursionError", "maximum recursion depth exceeded while rendering", 0);
        }
    }

    /**
     * Renders a conversation the way transformers' {@code apply_chat_template} does: {@code messages}, {@code tools}
     * (None when null), {@code documents=None}, {@code add_generation_prompt}, then every entry of {@code extra}
     * (bos_token, eos_token, enable_thinking, ...). Leave bos_token out of extra when the model has none.
     */
    public String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools,
                         boolean addGenerationPrompt, Map<String, Object> extra) {
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("messages", messages == null ? List.of() : messages);
        vars.put("tools", tools);
        vars.put("documents", null);
        vars.put("add_generation_prompt", addGenerationPrompt);
        if (extra != null) {
            vars.putAll(extra);
        }
        return render(vars);
    }

    /** Copies caller values into the shapes the interpreter expects (mutable-safe, null-tolerant containers). */
    private static Object normalize(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(k instanceof CharSequence cs ? cs.toString() : k, normalize(x)));
            return out;
        }
        if (v instanceof Values.Tuple) {
            return v;
        }
        if (v instanceof Collection<?> c) {
            List<Object> out = new ArrayList<>(c.size());
            for (Object x : c) {
                out.add(normalize(x));
            }
            return out;
        }
        if (v instanceof Object[] arr) {
            List<Object> out = new ArrayList<>(arr.length);
            for (Object x : arr) {
                out.add(normalize(x));
            }
            return out;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof CharSequence cs && !(v instanceof String)) {
            return cs.toString();
        }
        if (v instanceof Character c) {
            return c.toString();
        }
        return v;
    }
}
