package org.redhare.text.template;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.redhare.text.template.Values.Builtin;
import org.redhare.text.template.Values.Markup;
import org.redhare.text.template.Values.Tuple;
import org.redhare.text.template.Values.Undefined;

/** Python methods on str, list and dict that templates call ({@code s.startswith(...)}, {@code d.get(...)}). */
final class Methods {

    private Methods() {
    }

    private static final Set<String> STR_METHODS = Set.of("startswith", "endswith", "strip", "lstrip", "rstrip",
            "split", "rsplit", "splitlines", "replace", "upper", "lower", "title", "capitalize", "swapcase", "casefold",
            "format", "count", "find", "rfind", "index", "rindex", "join", "isdigit", "isnumeric", "isdecimal",
            "isalpha", "isalnum", "isspace", "isupper", "islower", "zfill", "center", "ljust", "rjust", "partition",
            "rpartition", "removeprefix", "removesuffix");

    /** The immutable sandbox refuses methods that modify their object. */
    private static final Set<String> UNSAFE_LIST = Set.of("append", "extend", "insert", "pop", "remove", "reverse",
            "sort", "clear");
    private static final Set<String> UNSAFE_DICT = Set.of("pop", "popitem", "setdefault", "update", "clear");

    static Object strMethod(Object s, String name) {
        if (!STR_METHODS.contains(name)) {
            return null;
        }
        String text = Py.text(s);
        boolean markup = s instanceof Markup;
        return new Builtin(name, (args, kw) -> {
            Object r = call(text, name, args, kw);
            // Markup methods return Markup for string results (escaping nothing further here).
            return markup && r instanceof String rs && !name.equals("format") ? new Markup(rs) : r;
        });
    }

    static Object listMethod(List<?> l, String name) {
        if (UNSAFE_LIST.contains(name)) {
            return new Undefined("access to attribute '" + name + "' of '" + Py.typeName(l)
                    + "' object is unsafe.", true);
        }
        return switch (name) {
            case "index" -> new Builtin("index", (a, kw) -> {
                for (int k = 0; k < l.size(); k++) {
                    if (Py.eq(l.get(k), a.getFirst())) {
                        return (long) k;
                    }
                }
                throw PyError.value(Py.repr(a.getFirst()) + " is not in list");
            });
            case "count" -> new Builtin("count", (a, kw) -> {
                long n = 0;
                for (Object o : l) {
                    if (Py.eq(o, a.getFirst())) {
                        n++;
                    }
                }
                return n;
            });
            default -> null;
        };
    }

    static Object dictMethod(Map<?, ?> m, String name) {
        if (UNSAFE_DICT.contains(name)) {
            return new Undefined("access to attribute '" + name + "' of 'dict' object is unsafe.", true);
        }
        return switch (name) {
            case "items" -> new Builtin("items", (a, kw) -> {
                List<Object> out = new ArrayList<>(m.size());
                m.forEach((k, v) -> out.add(new Tuple(k, v)));
                return out;
            });
            case "keys" -> new Builtin("keys", (a, kw) -> new ArrayList<Object>(m.keySet()));
            case "values" -> new Builtin("values", (a, kw) -> new ArrayList<Object>(m.values()));
            case "get" -> new Builtin("get", (a, kw) -> {
                if (a.isEmpty()) {
                    throw PyError.type("get expected at least 1 argument, got 0");
                }
                Object key = Py.isStr(a.getFirst()) ? Py.text(a.getFirst()) : a.getFirst();
                if (m.containsKey(key)) {
                    return m.get(key);
                }
                return a.size() > 1 ? a.get(1) : null;
            });
            case "copy" -> new Builtin("copy", (a, kw) -> new LinkedHashMap<Object, Object>(m));
            default -> null;
        };
    }

    private static Object arg(List<Object> args, int pos, Object dflt) {
        return pos < args.size() ? args.get(pos) : dflt;
    }

    private static String strArg(List<Object> args, int pos, String method) {
        Object o = arg(args, pos, null);
        if (o == null) {
            return null;
        }
        if (!Py.isStr(o)) {
            if (o instanceof Undefined u) {
                throw u.error();
            }
            throw PyError.type(method + " arg must be None or str");
        }
        return Py.text(o);
    }

    static Object call(String s, String name, List<Object> args, Map<String, Object> kw) {
        switch (name) {
            case "startswith", "endswith" -> {
                Object p = arg(args, 0, null);
                List<Object> options = p instanceof Tuple t ? t : List.of(p == null ? "" : p);
                for (Object o : options) {
                    if (!Py.isStr(o)) {
                        throw PyError.type(name + " first arg must be str or a tuple of str, not " + Py.typeName(o));
                    }
                    if (name.equals("startswith") ? s.startsWith(Py.text(o)) : s.endsWith(Py.text(o))) {
                        return true;
                    }
                }
                return false;
            }
            case "strip" -> {
                return Py.strip(s, strArg(args, 0, name), true, true);
            }
            case "lstrip" -> {
                return Py.strip(s, strArg(args, 0, name), true, false);
            }
            case "rstrip" -> {
                return Py.strip(s, strArg(args, 0, name), false, true);
            }
            case "split", "rsplit" -> {
                Object sep = arg(args, 0, kw.get("sep"));
                long max = Py.toLong(arg(args, 1, kw.getOrDefault("maxsplit", -1L)));
                String sp = sep == null ? null : Py.text(sep);
                List<String> parts = name.equals("split") ? pySplit(s, sp, max) : pyRsplit(s, sp, max);
                return new ArrayList<Object>(parts);
            }
            case "splitlines" -> {
                return new ArrayList<Object>(Py.splitlines(s));
            }
            case "replace" -> {
                for (int k = 0; k < Math.min(2, args.size()); k++) {
                    if (!Py.isStr(args.get(k))) {
                        throw PyError.type("replace() argument " + (k + 1) + " must be str, not " + Py.typeName(args.get(k)));
                    }
                }
                return replace(s, Py.str(arg(args, 0, "")), Py.str(arg(args, 1, "")),
                        Py.toLong(arg(args, 2, -1L)));
            }
            case "upper" -> {
                return s.toUpperCase(Locale.ROOT);
            }
            case "lower" -> {
                return s.toLowerCase(Locale.ROOT);
            }
            case "casefold" -> {
                return s.toLowerCase(Locale.ROOT);
            }
            case "swapcase" -> {
                StringBuilder sb = new StringBuilder();
                s.codePoints().forEach(c -> sb.appendCodePoint(Character.isUpperCase(c) ? Character.toLowerCase(c)
                        : Character.toUpperCase(c)));
                return sb.toString();
            }
            case "title" -> {
                StringBuilder sb = new StringBuilder();
                boolean prevCased = false;
                for (int k = 0; k < s.length(); ) {
                    int c = s.codePointAt(k);
                    k += Character.charCount(c);
                    boolean cased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
                    sb.appendCodePoint(cased ? (prevCased ? Character.toLowerCase(c) : Character.toTitleCase(c)) : c);
                    prevCased = cased;
                }
                return sb.toString();
            }
            case "capitalize" -> {
                return capitalize(s);
            }
            case "format" -> {
                return format(s, args, kw);
            }
            case "count" -> {
                String sub = Py.str(arg(args, 0, ""));
                if (sub.isEmpty()) {
                    return (long) s.codePointCount(0, s.length()) + 1;
                }
                long n = 0;
                for (int k = s.indexOf(sub); k >= 0; k = s.indexOf(sub, k + sub.length())) {
                    n++;
                }
                return n;
            }
            case "find", "index" -> {
                int k = s.indexOf(Py.str(arg(args, 0, "")));
                if (k < 0 && name.equals("index")) {
                    throw PyError.value("substring not found");
                }
                return k < 0 ? -1L : (long) s.codePointCount(0, k);
            }
            case "rfind", "rindex" -> {
                int k = s.lastIndexOf(Py.str(arg(args, 0, "")));
                if (k < 0 && name.equals("rindex")) {
                    throw PyError.value("substring not found");
                }
                return k < 0 ? -1L : (long) s.codePointCount(0, k);
            }
            case "join" -> {
                StringBuilder sb = new StringBuilder();
                boolean first = true;
                for (Object o : Py.iterate(arg(args, 0, List.of()))) {
                    if (!Py.isStr(o)) {
                        throw PyError.type("sequence item: expected str instance, " + Py.typeName(o) + " found");
                    }
                    if (!first) {
                        sb.append(s);
                    }
                    first = false;
                    sb.append(Py.text(o));
                }
                return sb.toString();
            }
            case "isdigit", "isnumeric", "isdecimal" -> {
                return !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            }
            case "isalpha" -> {
                return !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            }
            case "isalnum" -> {
                return !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            }
            case "isspace" -> {
                return !s.isEmpty() && s.chars().allMatch(Py::isSpace);
            }
            case "isupper" -> {
                return s.codePoints().anyMatch(Character::isUpperCase) && s.codePoints().noneMatch(Character::isLowerCase);
            }
            case "islower" -> {
                return s.codePoints().anyMatch(Character::isLowerCase) && s.codePoints().noneMatch(Character::isUpperCase);
            }
            case "zfill" -> {
                int w = (int) Py.toLong(arg(args, 0, 0L));
                int n = s.codePointCount(0, s.length());
                if (n >= w) {
                    return s;
                }
                boolean sign = !s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+');
                return (sign ? s.substring(0, 1) : "") + "0".repeat(w - n) + (sign ? s.substring(1) : s);
            }
            case "center", "ljust", "rjust" -> {
                int w = (int) Py.toLong(arg(args, 0, 0L));
                String fill = Py.str(arg(args, 1, " "));
                int n = s.codePointCount(0, s.length());
                if (n >= w) {
                    return s;
                }
                int pad = w - n;
                int left = switch (name) {
                    case "ljust" -> 0;
                    case "rjust" -> pad;
                    default -> pad / 2 + (pad & w & 1);
                };
                return fill.repeat(left) + s + fill.repeat(pad - left);
            }
            case "partition", "rpartition" -> {
                String sep = Py.str(arg(args, 0, ""));
                int k = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
                if (k < 0) {
                    return name.equals("partition") ? new Tuple(s, "", "") : new Tuple("", "", s);
                }
                return new Tuple(s.substring(0, k), sep, s.substring(k + sep.length()));
            }
            case "removeprefix" -> {
                String p = Py.str(arg(args, 0, ""));
                return s.startsWith(p) ? s.substring(p.length()) : s;
            }
            case "removesuffix" -> {
                String p = Py.str(arg(args, 0, ""));
                return !p.isEmpty() && s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s;
            }
            default -> throw new IllegalStateException(name);
        }
    }

    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int c = s.codePointAt(0);
        int n = Character.charCount(c);
        return new String(Character.toChars(Character.toTitleCase(c))) + s.substring(n).toLowerCase(Locale.ROOT);
    }

    static String replace(String s, String old, String neu, long count) {
        if (count < 0) {
            if (old.isEmpty()) {
                StringBuilder sb = new StringBuilder(neu);
                s.codePoints().forEach(c -> sb.appendCodePoint(c).append(neu));
                return sb.toString();
            }
            return s.replace(old, neu);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long k = 0; k < count; k++) {
            int at = s.indexOf(old, from);
            if (at < 0 || old.isEmpty()) {
                break;
            }
            sb.append(s, from, at).append(neu);
            from = at + old.length();
        }
        return sb.append(s.substring(from)).toString();
    }

    /** Python str.split: sep None splits on whitespace runs and drops empty strings. */
    static List<String> pySplit(String s, String sep, long max) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int k = 0;
            int n = s.length();
            while (true) {
                while (k < n && Py.isSpace(s.charAt(k))) {
                    k++;
                }
                if (k >= n) {
                    break;
                }
                if (max >= 0 && out.size() == max) {
                    out.add(Py.rstrip(s.substring(k)));
                    break;
                }
                int e = k;
                while (e < n && !Py.isSpace(s.charAt(e))) {
                    e++;
                }
                out.add(s.substring(k, e));
                k = e;
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw PyError.value("empty separator");
        }
        int from = 0;
        while (max < 0 || out.size() < max) {
            int at = s.indexOf(sep, from);
            if (at < 0) {
                break;
            }
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static List<String> pyRsplit(String s, String sep, long max) {
        if (max < 0) {
            return pySplit(s, sep, max);
        }
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int e = s.length();
            while (true) {
                while (e > 0 && Py.isSpace(s.charAt(e - 1))) {
                    e--;
                }
                if (e <= 0) {
                    break;
                }
                if (out.size() == max) {
                    out.addFirst(Py.strip(s.substring(0, e), null, true, false));
                    break;
                }
                int b = e;
                while (b > 0 && !Py.isSpace(s.charAt(b - 1))) {
                    b--;
                }
                out.addFirst(s.substring(b, e));
                e = b;
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw PyError.value("empty separator");
        }
        int to = s.length();
        while (out.size() < max) {
            int at = s.lastIndexOf(sep, to - sep.length());
            if (at < 0) {
                break;
            }
            out.addFirst(s.substring(at + sep.length(), to));
            to = at;
        }
        out.addFirst(s.substring(0, to));
        return out;
    }

    /** str.format with {}, {0}, {name}, {name.attr}/{name[key]} not supported, conversions !r/!s, simple specs. */
    static String format(String s, List<Object> args, Map<String, Object> kw) {
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c == '{') {
                if (k + 1 < s.length() && s.charAt(k + 1) == '{') {
                    sb.append('{');
                    k++;
                    continue;
                }
                int e = s.indexOf('}', k);
                if (e < 0) {
                    throw PyError.value("Single '{' encountered in format string");
                }
                String field = s.substring(k + 1, e);
                String spec = "";
                String conv = null;
                int colon = field.indexOf(':');
                if (colon >= 0) {
                    spec = field.substring(colon + 1);
                    field = field.substring(0, colon);
                }
                int bang = field.indexOf('!');
                if (bang >= 0) {
                    conv = field.substring(bang + 1);
                    field = field.substring(0, bang);
                }
                Object v;
                if (field.isEmpty()) {
                    if (auto >= args.size()) {
                        throw new PyError("IndexError", "Replacement index " + auto + " out of range for positional args tuple");
                    }
                    v = args.get(auto++);
                } else if (field.chars().allMatch(Character::isDigit)) {
                    int idx = Integer.parseInt(field);
                    if (idx >= args.size()) {
                        throw new PyError("IndexError", "Replacement index " + idx + " out of range for positional args tuple");
                    }
                    v = args.get(idx);
                } else {
                    if (!kw.containsKey(field)) {
                        throw new PyError("KeyError", "'" + field + "'");
                    }
                    v = kw.get(field);
                }
                String text = "r".equals(conv) ? Py.repr(v) : null;
                sb.append(text != null ? text : formatSpec(v, spec));
                k = e;
            } else if (c == '}') {
                if (k + 1 < s.length() && s.charAt(k + 1) == '}') {
                    k++;
                }
                sb.append('}');
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String formatSpec(Object v, String spec) {
        if (spec.isEmpty()) {
            return Py.str(v);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("(?:(.)?([<>^]))?([+\\- ])?(0)?(\\d+)?(,)?(?:\\.(\\d+))?([sdfegx%])?").matcher(spec);
        if (!m.matches()) {
            return Py.str(v);
        }
        String type = m.group(8);
        String body;
        if ("f".equals(type) || ("%".equals(type))) {
            int p = m.group(7) == null ? 6 : Integer.parseInt(m.group(7));
            double d = Py.toDouble(v) * ("%".equals(type) ? 100 : 1);
            body = String.format(Locale.ROOT, "%." + p + "f", d) + ("%".equals(type) ? "%" : "");
        } else if ("d".equals(type)) {
            body = Long.toString(Py.toLong(v));
        } else if ("x".equals(type)) {
            body = Long.toHexString(Py.toLong(v));
        } else if (m.group(7) != null && Py.isFloat(v)) {
            body = String.format(Locale.ROOT, "%." + m.group(7) + "g", Py.toDouble(v));
        } else {
            body = Py.str(v);
        }
        if ("+".equals(m.group(3)) && Py.isNumber(v) && Py.toDouble(v) >= 0) {
            body = "+" + body;
        }
        if (m.group(5) != null) {
            int w = Integer.parseInt(m.group(5));
            String fill = m.group(1) != null ? m.group(1) : m.group(4) != null ? "0" : " ";
            String align = m.group(2) != null ? m.group(2) : Py.isNumber(v) ? ">" : "<";
            int pad = w - body.codePointCount(0, body.length());
            if (pad > 0) {
                body = switch (align) {
                    case "<" -> body + fill.repeat(pad);
                    case "^" -> fill.repeat(pad / 2) + body + fill.repeat(pad - pad / 2);
                    default -> fill.repeat(pad) + body;
                };
            }
        }
        return body;
    }

    /** printf-style "fmt % args" for %s %r %d %i %f %x %%, with %(name)s when args is a dict. */
    static String percentFormat(String fmt, Object args) {
        List<Object> list = args instanceof Tuple t ? t : List.of(args == null ? "None" : args);
        if (args == null) {
            list = new ArrayList<>();
            list.add(null);
        }
        Map<?, ?> map = args instanceof Map<?, ?> m ? m : null;
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("%(?:\\(([^)]*)\\))?([-+ 0#]*)(\\d+)?(?:\\.(\\d+))?([sridfgexXc%])").matcher(fmt);
        StringBuilder sb = new StringBuilder();
        int last = 0;
        int idx = 0;
        while (m.find()) {
            sb.append(fmt, last, m.start());
            last = m.end();
            char type = m.group(5).charAt(0);
            if (type == '%') {
                sb.append('%');
                continue;
            }
            Object v;
            if (m.group(1) != null) {
                if (map == null) {
                    throw PyError.type("format requires a mapping");
                }
                v = map.get(m.group(1));
            } else {
                if (idx >= list.size()) {
                    throw PyError.type("not enough arguments for format string");
                }
                v = list.get(idx++);
            }
            String body = switch (type) {
                case 's' -> Py.str(v);
                case 'r' -> Py.repr(v);
                case 'd', 'i' -> {
                    if (!Py.isNumber(v)) {
                        throw PyError.type("%" + type + " format: a real number is required, not " + Py.typeName(v));
                    }
                    yield Long.toString(Py.isInt(v) ? Py.toLong(v) : (long) Py.toDouble(v));
                }
                case 'f' -> String.format(Locale.ROOT, "%." + (m.group(4) == null ? 6 : Integer.parseInt(m.group(4)))
                        + "f", Py.toDouble(v));
                case 'x' -> Long.toHexString(Py.toLong(v));
                case 'X' -> Long.toHexString(Py.toLong(v)).toUpperCase(Locale.ROOT);
                case 'c' -> Py.isInt(v) ? new String(Character.toChars((int) Py.toLong(v))) : Py.str(v);
                default -> String.format(Locale.ROOT, "%" + type, Py.toDouble(v));
            };
            if (m.group(3) != null) {
                int w = Integer.parseInt(m.group(3));
                boolean leftAlign = m.group(2).contains("-");
                boolean zero = m.group(2).contains("0") && !leftAlign;
                int pad = w - body.length();
                if (pad > 0) {
                    body = leftAlign ? body + " ".repeat(pad) : (zero ? "0" : " ").repeat(pad) + body;
                }
            }
            sb.append(body);
        }
        if (map == null && idx < list.size() && !(args instanceof Map)) {
            throw PyError.type("not all arguments converted during string formatting");
        }
        sb.append(fmt.substring(last));
        return sb.toString();
    }
}
