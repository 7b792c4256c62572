package org.redhare.text.template;

/**
 * A Python-level error raised while evaluating, before the interpreter knows the template line.
 * The interpreter converts it into a {@link TemplateException} at the innermost node that has a line.
 */
final class PyError extends RuntimeException {
    final String kind;
    final String detail;

    PyError(String kind, String detail) {
        super(kind + ": " + detail, null, false, false);
        this.kind = kind;
        this.detail = detail;
    }

    static PyError type(String detail) {
        return new PyError("TypeError", detail);
    }

    static PyError undefined(String detail) {
        return new PyError("UndefinedError", detail);
    }

    static PyError value(String detail) {
        return new PyError("ValueError", detail);
    }

    TemplateException at(int line) {
        return new TemplateException(kind, detail, line);
    }
}
