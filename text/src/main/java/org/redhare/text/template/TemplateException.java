package org.redhare.text.template;

/**
 * A chat template failed to compile or to render.
 *
 * <p>{@link #kind()} names the failure the way Python Jinja2 would report it, so callers (and the conformance
 * tests) can compare with the reference: {@code TemplateSyntaxError} for a template that does not parse,
 * {@code UndefinedError} for use of a missing variable, {@code TypeError}/{@code ValueError}/... for
 * Python-level type errors, and {@code raise_exception} when the template itself called
 * {@code raise_exception(msg)} (then {@link #detail()} is exactly the template's message, e.g.
 * "System role not supported"). {@link #line()} is the 1-based template line, or 0 when unknown.
 */
public class TemplateException extends RuntimeException {

    private final String kind;
    private final String detail;
    private final int line;

    public TemplateException(String kind, String detail, int line) {
        super(line > 0 ? "template line " + line + ": " + kind + ": " + detail : kind + ": " + detail);
        this.kind = kind;
        this.detail = detail;
        this.line = line;
    }

    /** Python-style error kind: TemplateSyntaxError, UndefinedError, TypeError, raise_exception, ... */
    public String kind() {
        return kind;
    }

    /** The message without line and kind. */
    public String detail() {
        return detail;
    }

    /** 1-based line in the template source where the error was detected; 0 when unknown. */
    public int line() {
        return line;
    }
}
