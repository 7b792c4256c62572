package org.redhare.text.template;

import java.util.AbstractList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runtime value types that have no direct Java counterpart. */
final class Values {

    private Values() {
    }

    /**
     * Jinja2's default Undefined: falsy, prints as "", iterates as empty, has length 0, but any attribute or item
     * access, call, or arithmetic on it raises UndefinedError with {@link #hint}.
     */
    static final class Undefined {
        final String hint;
        /** True for the value of a sandbox-blocked attribute (list.append, dict.pop, ...): using it is a SecurityError. */
        final boolean unsafe;

        Undefined(String hint) {
            this(hint, false);
        }

        Undefined(String hint, boolean unsafe) {
            this.hint = hint;
            this.unsafe = unsafe;
        }

        PyError error() {
            return unsafe ? new PyError("SecurityError", hint) : PyError.undefined(hint);
        }

        @Override
        public String toString() {
            return "";
        }
    }

    /** markupsafe.Markup: a string already escaped; {@code +} with a plain string escapes the plain side. */
    record Markup(String text) {
        static String escape(String s) {
            StringBuilder sb = new StringBuilder(s.length() + 16);
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '&' -> sb.append("&amp;");
                    case '<' -> sb.append("&lt;");
                    case '>' -> sb.append("&gt;");
                    case '\'' -> sb.append("&#39;");
                    case '"' -> sb.append("&#34;");
                    default -> sb.append(c);
                }
            }
            return sb.toString();
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** A Python tuple: a list that prints with parentheses and never equals a list. */
    static final class Tuple extends AbstractList<Object> {
        private final Object[] items;

        Tuple(Object... items) {
            this.items = items;
        }

        Tuple(List<?> items) {
            this.items = items.toArray();
        }

        @Override
        public Object get(int index) {
            return items[index];
        }

        @Override
        public int size() {
            return items.length;
        }
    }

    /**
     * What Jinja2's map/select/reject/selectattr/rejectattr/unique/items return: a Python generator. It iterates, is
     * truthy, works with list/join/first, but has no length and is not JSON serializable (a genuine source of template
     * errors that the goldens expect).
     */
    record Generator(List<Object> items, String function) {
    }

    /** namespace(...): the one mutable object templates may assign attributes to. */
    static final class Namespace {
        final Map<String, Object> attrs = new LinkedHashMap<>();
    }

    /** Anything callable from a template: globals, macros, bound methods, loop.cycle. */
    @FunctionalInterface
    interface PyCallable {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    /** A bound method or builtin with a name for error messages and repr. */
    record Builtin(String name, PyCallable fn) implements PyCallable {
        @Override
        public Object call(List<Object> args, Map<String, Object> kwargs) {
            return fn.call(args, kwargs);
        }
    }
}
