/**
 * A Jinja2-compatible engine for the chat templates models ship ({@code tokenizer_config.json},
 * {@code chat_template.jinja}, GGUF {@code tokenizer.chat_template}).
 *
 * <p>Why hand-written: the Java Jinja libraries (Jinjava and the like) render Qwen3's template incorrectly (Python
 * string methods, slicing such as {@code messages[::-1]}, namespace attribute assignment, Python truthiness and
 * {@code str()} of values, and Jinja2's undefined semantics all differ), and a prompt that differs by one byte from what
 * the model was trained on silently degrades it. This package reproduces Python Jinja2 3.1 as Hugging Face transformers
 * configures it: {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)} with loop controls, the
 * {@code {% generation %}} block as a no-op, HF's {@code tojson} (ensure_ascii=False, no HTML escaping, Python
 * separators), {@code raise_exception(msg)} and {@code strftime_now(fmt)}. It is checked byte-for-byte against goldens
 * produced by Python Jinja2 (conformance/chat-templates).
 *
 * <p>Entry points: {@link org.redhare.text.template.ChatTemplate} (compile, render),
 * {@link org.redhare.text.template.ChatTemplates} (the templates a model ships, chosen by tool use) and
 * {@link org.redhare.text.template.ReasoningParser} (splitting {@code <think>} reasoning from generated text).
 *
 * <p>Values are plain Java objects with Python meaning: null is None, Boolean is bool, integral numbers are int,
 * floating numbers are float, String is str, List is list, Map is dict in insertion order. Errors are
 * {@link org.redhare.text.template.TemplateException}s carrying the Python error kind and the template line.
 */
package org.redhare.text.template;
