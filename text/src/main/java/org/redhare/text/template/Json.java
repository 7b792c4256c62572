package org.redhare.text.template;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.redhare.text.template.Values.Markup;

/**
 * Python's json.dumps as HF's tojson filter calls it: ensure_ascii, indent (int or string), separators and sort_keys
 * honoured; default separators ", " and ": " (or "," and ": " with an indent); no HTML escaping.
 */
final class Json {

    private final String indent;          // null: single line
    private final String itemSep;
    private final String keySep;
    private final boolean sortKeys;
    private final boolean ensureAscii;
    private final StringBuilder sb = new StringBuilder();

    private Json(String indent, String itemSep, String keySep, boolean sortKeys, boolean ensureAscii) {
        this.indent = indent;
        this.itemSep = itemSep;
        this.keySep = keySep;
        this.sortKeys = sortKeys;
        this.ensureAscii = ensureAscii;
    }

    static String dumps(Object value, Object indent, Object separators, boolean sortKeys, boolean ensureAscii) {
        String ind = null;
        if (indent != null && !(indent instanceof Values.Undefined)) {
            ind = Py.isStr(indent) ? Py.text(indent) : " ".repeat((int) Math.max(0, Py.toLong(indent)));
        }
        String itemSep = ind == null ? ", " : ",";
        String keySep = ": ";
        if (separators != null && !(separators instanceof Values.Undefined)) {
            List<Object> seps = Py.iterate(separators);
            if (seps.size() != 2) {
                throw PyError.value("separators must be an (item_separator, key_separator) pair");
            }
            itemSep = Py.str(seps.get(0));
            keySep = Py.str(seps.get(1));
        }
        Json j = new Json(ind, itemSep, keySep, sortKeys, ensureAscii);
        j.write(value, 0);
        return j.sb.toString();
    }

    private void newline(int level) {
        if (indent != null) {
            sb.append('\n');
            sb.append(indent.repeat(level));
        }
    }

    private void write(Object v, int level) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (Py.isInt(v)) {
            sb.append(v);
        } else if (Py.isFloat(v)) {
            double d = Py.toDouble(v);
            sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity")
                    : Py.floatRepr(d));
        } else if (v instanceof String || v instanceof Markup) {
            string(Py.text(v));
        } else if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(itemSep);
                }
                newline(level + 1);
                write(l.get(i), level + 1);
            }
            newline(level);
            sb.append(']');
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
            if (sortKeys) {
                entries.sort((a, b) -> Py.compare(a.getKey(), b.getKey(), "<"));
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : entries) {
                if (!first) {
                    sb.append(itemSep);
                }
                first = false;
                newline(level + 1);
                string(key(e.getKey()));
                sb.append(keySep);
                write(e.getValue(), level + 1);
            }
            newline(level);
            sb.append('}');
        } else {
            throw PyError.type("Object of type " + Py.typeName(v) + " is not JSON serializable");
        }
    }

    private static String key(Object k) {
        if (k instanceof String || k instanceof Markup) {
            return Py.text(k);
        }
        if (k == null) {
            return "null";
        }
        if (k instanceof Boolean b) {
            return b ? "true" : "false";
        }
        if (Py.isNumber(k)) {
            return Py.str(k);
        }
        throw PyError.type("keys must be str, int, float, bool or None, not " + Py.typeName(k));
    }

    private void string(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        sb.append(String.format("\\u%04x", (int) c));   // UTF-16 units: surrogate pairs as Python does
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
