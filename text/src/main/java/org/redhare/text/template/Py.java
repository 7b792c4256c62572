package org.redhare.text.template;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.redhare.text.template.Values.Builtin;
import org.redhare.text.template.Values.Generator;
import org.redhare.text.template.Values.Markup;
import org.redhare.text.template.Values.Namespace;
import org.redhare.text.template.Values.PyCallable;
import org.redhare.text.template.Values.Tuple;
import org.redhare.text.template.Values.Undefined;

/**
 * Python value semantics over plain Java values: null is None, Boolean is bool, Long/Integer/Short/Byte/BigInteger
 * are int, Double/Float/BigDecimal are float, String is str, List is list, Map is dict (insertion order).
 */
final class Py {

    private Py() {
    }

    // ------------------------------------------------------------------ types

    static boolean isInt(Object o) {
        return o instanceof Long || o instanceof Integer || o instanceof Short || o instanceof Byte
                || o instanceof BigInteger || o instanceof Boolean;
    }

    static boolean isFloat(Object o) {
        return o instanceof Double || o instanceof Float || o instanceof BigDecimal;
    }

    static boolean isNumber(Object o) {
        return isInt(o) || isFloat(o);
    }

    static boolean isStr(Object o) {
        return o instanceof String || o instanceof Markup;
    }

    static long toLong(Object o) {
        if (o instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return ((Number) o).longValue();
    }

    static double toDouble(Object o) {
        if (o instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return ((Number) o).doubleValue();
    }

    static String typeName(Object o) {
        if (o == null) {
            return "NoneType";
        }
        if (o instanceof Boolean) {
            return "bool";
        }
        if (isInt(o)) {
            return "int";
        }
        if (isFloat(o)) {
            return "float";
        }
        if (o instanceof Markup) {
            return "Markup";
        }
        if (o instanceof String) {
            return "str";
        }
        if (o instanceof Tuple) {
            return "tuple";
        }
        if (o instanceof List) {
            return "list";
        }
        if (o instanceof Map) {
            return "dict";
        }
        if (o instanceof Undefined) {
            return "Undefined";
        }
        if (o instanceof Generator) {
            return "generator";
        }
        if (o instanceof Namespace) {
            return "Namespace";
        }
        if (o instanceof LoopContext) {
            return "LoopContext";
        }
        if (o instanceof PyCallable) {
            return "function";
        }
        return o.getClass().getSimpleName();
    }

    static String text(Object s) {
        return s instanceof Markup m ? m.text() : (String) s;
    }

    // ------------------------------------------------------------------ truth, str, repr

    static boolean truthy(Object o) {
        if (o == null || o instanceof Undefined) {
            return false;
        }
        if (o instanceof Boolean b) {
            return b;
        }
        if (isInt(o)) {
            return o instanceof BigInteger bi ? bi.signum() != 0 : toLong(o) != 0;
        }
        if (isFloat(o)) {
            return toDouble(o) != 0.0;
        }
        if (o instanceof String s) {
            return !s.isEmpty();
        }
        if (o instanceof Markup m) {
            return !m.text().isEmpty();
        }
        if (o instanceof Collection<?> c) {
            return !c.isEmpty();
        }
        if (o instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        return true;
    }

    static String str(Object o) {
        if (o instanceof String s) {
            return s;
        }
        if (o instanceof Markup m) {
            return m.text();
        }
        if (o instanceof Undefined) {
            return "";
        }
        return repr(o);
    }

    static String repr(Object o) {
        StringBuilder sb = new StringBuilder();
        repr(o, sb);
        return sb.toString();
    }

    private static void repr(Object o, StringBuilder sb) {
        if (o == null) {
            sb.append("None");
        } else if (o instanceof Boolean b) {
            sb.append(b ? "True" : "False");
        } else if (isInt(o)) {
            sb.append(o);
        } else if (isFloat(o)) {
            sb.append(floatRepr(toDouble(o)));
        } else if (o instanceof String s) {
            strRepr(s, sb);
        } else if (o instanceof Markup m) {
            sb.append("Markup(");
            strRepr(m.text(), sb);
            sb.append(')');
        } else if (o instanceof Tuple t) {
            sb.append('(');
            for (int i = 0; i < t.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(t.get(i), sb);
            }
            sb.append(t.size() == 1 ? ",)" : ")");
        } else if (o instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(l.get(i), sb);
            }
            sb.append(']');
        } else if (o instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(e.getKey(), sb);
                sb.append(": ");
                repr(e.getValue(), sb);
            }
            sb.append('}');
        } else if (o instanceof Undefined) {
            sb.append("Undefined");
        } else if (o instanceof Namespace ns) {
            sb.append("<Namespace ");
            repr(ns.attrs, sb);
            sb.append('>');
        } else if (o instanceof Generator g) {
            sb.append("<generator object ").append(g.function()).append('>');
        } else if (o instanceof Builtin b) {
            sb.append("<built-in method ").append(b.name()).append('>');
        } else if (o instanceof PyCallable) {
            sb.append("<function>");
        } else {
            sb.append(o);
        }
    }

    private static void strRepr(String s, StringBuilder sb) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(q);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == q || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else if (cp == '\n') {
                sb.append("\\n");
            } else if (cp == '\r') {
                sb.append("\\r");
            } else if (cp == '\t') {
                sb.append("\\t");
            } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && !printable(cp))) {
                if (cp < 0x100) {
                    sb.append(String.format("\\x%02x", cp));
                } else if (cp < 0x10000) {
                    sb.append(String.format("\\u%04x", cp));
                } else {
                    sb.append(String.format("\\U%08x", cp));
                }
            } else {
                sb.appendCodePoint(cp);
            }
        }
        sb.append(q);
    }

    /** Python's str.isprintable for one code point: not Cc, Cf, Cs, Co, Cn, Zl, Zp, or Zs other than space. */
    private static boolean printable(int cp) {
        int t = Character.getType(cp);
        return !(t == Character.CONTROL || t == Character.FORMAT || t == Character.SURROGATE
                || t == Character.PRIVATE_USE || t == Character.UNASSIGNED || t == Character.LINE_SEPARATOR
                || t == Character.PARAGRAPH_SEPARATOR || (t == Character.SPACE_SEPARATOR && cp != ' '));
    }

    /** Python's repr(float): shortest round-trip digits, exponent form when the exponent is < -4 or >= 16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        // Double.toString gives the shortest round-trip decimal (JDK 19+); re-layout it the Python way.
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int decpt = digits.length() - bd.scale();      // value = 0.digits * 10^decpt
        StringBuilder sb = new StringBuilder();
        if (d < 0) {
            sb.append('-');
        }
        if (decpt > 16 || decpt < -3) {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            sb.append('e').append(exp < 0 ? '-' : '+');
            int a = Math.abs(exp);
            if (a < 10) {
                sb.append('0');
            }
            sb.append(a);
        } else if (decpt <= 0) {
            sb.append("0.").append("0".repeat(-decpt)).append(digits);
        } else if (decpt >= digits.length()) {
            sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
        } else {
            sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ equality and ordering

    static boolean eq(Object a, Object b) {
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (isNumber(a) && isNumber(b)) {
            if (isInt(a) && isInt(b)) {
                return toLong(a) == toLong(b);
            }
            return toDouble(a) == toDouble(b);
        }
        if (isStr(a) && isStr(b)) {
            return text(a).equals(text(b));
        }
        if (a instanceof Undefined && b instanceof Undefined) {
            return true;
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            if ((a instanceof Tuple) != (b instanceof Tuple) || la.size() != lb.size()) {
                return false;
            }
            for (int i = 0; i < la.size(); i++) {
                if (!eq(la.get(i), lb.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            if (ma.size() != mb.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : ma.entrySet()) {
                if (!mb.containsKey(e.getKey()) || !eq(e.getValue(), mb.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    /** Python ordering (<, >) or TypeError. */
    static int compare(Object a, Object b, String op) {
        if (isNumber(a) && isNumber(b)) {
            if (isInt(a) && isInt(b)) {
                return Long.compare(toLong(a), toLong(b));
            }
            return Double.compare(toDouble(a), toDouble(b));
        }
        if (isStr(a) && isStr(b)) {
            return compareCodePoints(text(a), text(b));
        }
        if (a instanceof List<?> la && b instanceof List<?> lb && (a instanceof Tuple) == (b instanceof Tuple)) {
            for (int i = 0; i < Math.min(la.size(), lb.size()); i++) {
                if (!eq(la.get(i), lb.get(i))) {
                    return compare(la.get(i), lb.get(i), op);
                }
            }
            return Integer.compare(la.size(), lb.size());
        }
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        throw PyError.type("'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** Python's "x in container". */
    static boolean contains(Object container, Object item) {
        if (isStr(container)) {
            if (!isStr(item)) {
                if (item instanceof Undefined u) {
                    throw u.error();
                }
                throw PyError.type("'in <string>' requires string as left operand, not " + typeName(item));
            }
            return text(container).contains(text(item));
        }
        if (container instanceof Map<?, ?> m) {
            if (item instanceof String || item instanceof Markup) {
                return m.containsKey(text(item));
            }
            for (Object k : m.keySet()) {
                if (eq(k, item)) {
                    return true;
                }
            }
            return false;
        }
        if (container instanceof Undefined) {
            return false;
        }
        if (container instanceof List<?> || container instanceof Generator) {
            for (Object o : iterate(container)) {
                if (eq(o, item)) {
                    return true;
                }
            }
            return false;
        }
        throw PyError.type("argument of type '" + typeName(container) + "' is not iterable");
    }

    // ------------------------------------------------------------------ iteration and length

    /** Python iter(): items of a list/tuple/generator, keys of a dict, characters of a string, nothing for undefined. */
    static List<Object> iterate(Object o) {
        if (o instanceof Generator g) {
            return g.items();
        }
        if (o instanceof List<?> l) {
            @SuppressWarnings("unchecked")
            List<Object> lo = (List<Object>) l;
            return lo;
        }
        if (o instanceof Map<?, ?> m) {
            return new ArrayList<>(m.keySet());
        }
        if (isStr(o)) {
            String s = text(o);
            List<Object> out = new ArrayList<>(s.length());
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                out.add(new String(Character.toChars(cp)));
                i += Character.charCount(cp);
            }
            return out;
        }
        if (o instanceof Undefined) {
            return List.of();
        }
        if (o instanceof Collection<?> c) {
            return new ArrayList<>(c);
        }
        throw PyError.type("'" + typeName(o) + "' object is not iterable");
    }

    static long len(Object o) {
        if (isStr(o)) {
            String s = text(o);
            return s.codePointCount(0, s.length());
        }
        if (o instanceof Collection<?> c) {
            return c.size();
        }
        if (o instanceof Map<?, ?> m) {
            return m.size();
        }
        if (o instanceof Undefined) {
            return 0;
        }
        throw PyError.type("object of type '" + typeName(o) + "' has no len()");
    }

    // ------------------------------------------------------------------ whitespace helpers (Python str.isspace)

    static boolean isSpace(int c) {
        return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0
                || (c > 0xff && Character.isSpaceChar(c)) || c == 0x1680;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0;
        int e = s.length();
        if (left) {
            while (b < e && (chars == null ? isSpace(s.charAt(b)) : chars.indexOf(s.charAt(b)) >= 0)) {
                b++;
            }
        }
        if (right) {
            while (e > b && (chars == null ? isSpace(s.charAt(e - 1)) : chars.indexOf(s.charAt(e - 1)) >= 0)) {
                e--;
            }
        }
        return s.substring(b, e);
    }

    static String rstrip(String s) {
        return strip(s, null, false, true);
    }

    /** Python str.splitlines() (without keepends). */
    static List<String> splitlines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            boolean br = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85
                    || c == 0x2028 || c == 0x2029;
            if (br) {
                out.add(s.substring(start, i));
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
            i++;
        }
        if (start < s.length()) {
            out.add(s.substring(start));
        }
        return out;
    }
}
