package org.redhare.text.template;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.redhare.text.template.Values.Generator;
import org.redhare.text.template.Values.Markup;
import org.redhare.text.template.Values.Namespace;
import org.redhare.text.template.Values.PyCallable;
import org.redhare.text.template.Values.Tuple;
import org.redhare.text.template.Values.Undefined;

/** Jinja2's built-in filters and tests (plus HF's tojson), with Python semantics. */
final class Builtins {

    private Builtins() {
    }

    static final Set<String> FILTERS = Set.of("tojson", "trim", "length", "count", "join", "selectattr", "rejectattr",
            "select", "reject", "map", "list", "first", "last", "default", "d", "lower", "upper", "capitalize",
            "title", "replace", "string", "int", "float", "abs", "round", "items", "dictsort", "safe", "escape", "e",
            "forceescape", "indent", "wordcount", "unique", "reverse", "sort", "batch", "slice", "sum", "min", "max",
            "center", "attr", "format", "truncate", "striptags", "pprint", "urlencode", "bool", "groupby");

    static final Set<String> TESTS = Set.of("defined", "undefined", "none", "string", "number", "integer", "float",
            "mapping", "sequence", "iterable", "boolean", "true", "false", "even", "odd", "divisibleby", "equalto",
            "eq", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=", "lessthan", "greaterthan", "in",
            "sameas", "callable", "lower", "upper", "escaped", "filter", "test");

    private static final Set<String> LAZY_ON_FALSY = Set.of("select", "reject", "selectattr", "rejectattr", "map");

    // ------------------------------------------------------------------ argument helpers

    private static Object arg(List<Object> args, Map<String, Object> kw, int pos, String name, Object dflt) {
        if (pos < args.size()) {
            return args.get(pos);
        }
        return kw.containsKey(name) ? kw.get(name) : dflt;
    }

    private static boolean flag(List<Object> args, Map<String, Object> kw, int pos, String name, boolean dflt) {
        return Py.truthy(arg(args, kw, pos, name, dflt));
    }

    private static Generator gen(List<Object> items, String fn) {
        return new Generator(items, fn);
    }

    /** Jinja's dotted attribute lookup for map/selectattr/sort(attribute=...): "a.b" or "items.0". */
    private static Object attribute(Interpreter in, Object item, Object attr) {
        if (Py.isInt(attr)) {
            return in.getitem(item, attr);
        }
        Object v = item;
        for (String part : Py.str(attr).split("\\.")) {
            if (!part.isEmpty() && part.chars().allMatch(Character::isDigit)) {
                v = in.getitem(v, Long.parseLong(part));
            } else {
                v = in.getitem(v, part);
            }
        }
        return v;
    }

    // ------------------------------------------------------------------ filters

    static Object filter(Interpreter in, String name, Object v, List<Object> args, Map<String, Object> kw) {
        if (!Py.truthy(v) && LAZY_ON_FALSY.contains(name)) {
            return gen(List.of(), name);     // Jinja2 skips iterating a falsy value (None included) here
        }
        switch (name) {
            case "tojson" -> {
                // HF's override: lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False
                return Json.dumps(v, arg(args, kw, 1, "indent", null), arg(args, kw, 2, "separators", null),
                        flag(args, kw, 3, "sort_keys", false), flag(args, kw, 0, "ensure_ascii", false));
            }
            case "trim" -> {
                Object chars = arg(args, kw, 0, "chars", null);
                return Py.strip(Py.str(v), chars == null ? null : Py.str(chars), true, true);
            }
            case "length", "count" -> {
                return Py.len(v);
            }
            case "join" -> {
                String sep = Py.str(arg(args, kw, 0, "d", ""));
                Object attr = arg(args, kw, 1, "attribute", null);
                StringBuilder sb = new StringBuilder();
                boolean first = true;
                boolean markup = false;
                for (Object o : Py.iterate(v)) {
                    if (!first) {
                        sb.append(sep);
                    }
                    first = false;
                    Object x = attr == null ? o : attribute(in, o, attr);
                    markup |= x instanceof Markup;
                    sb.append(Py.str(x));
                }
                return sb.toString();
            }
            case "select", "reject" -> {
                boolean keep = name.equals("select");
                List<Object> out = new ArrayList<>();
                for (Object o : Py.iterate(v)) {
                    boolean t = args.isEmpty() ? Py.truthy(o)
                            : test(in, Py.str(args.getFirst()), o, args.subList(1, args.size()));
                    if (t == keep) {
                        out.add(o);
                    }
                }
                return gen(out, "select_or_reject");
            }
            case "selectattr", "rejectattr" -> {
                boolean keep = name.equals("selectattr");
                if (args.isEmpty()) {
                    throw PyError.type(name + "() missing the attribute name");
                }
                List<Object> out = new ArrayList<>();
                for (Object o : Py.iterate(v)) {
                    Object a = attribute(in, o, args.getFirst());
                    boolean t = args.size() < 2 ? Py.truthy(a)
                            : test(in, Py.str(args.get(1)), a, args.subList(2, args.size()));
                    if (t == keep) {
                        out.add(o);
                    }
                }
                return gen(out, "select_or_reject");
            }
            case "map" -> {
                List<Object> out = new ArrayList<>();
                if (kw.containsKey("attribute")) {
                    Object attr = kw.get("attribute");
                    Object dflt = kw.get("default");
                    for (Object o : Py.iterate(v)) {
                        Object a = attribute(in, o, attr);
                        out.add(a instanceof Undefined && kw.containsKey("default") ? dflt : a);
                    }
                } else {
                    if (args.isEmpty()) {
                        throw new PyError("FilterArgumentError", "map requires a filter argument");
                    }
                    String f = Py.str(args.getFirst());
                    List<Object> rest = args.subList(1, args.size());
                    for (Object o : Py.iterate(v)) {
                        out.add(filter(in, f, o, rest, kw));
                    }
                }
                return gen(out, "do_map");
            }
            case "list" -> {
                return new ArrayList<>(Py.iterate(v));
            }
            case "first" -> {
                List<Object> l = Py.iterate(v);
                return l.isEmpty() ? new Undefined("No first item, sequence was empty.") : l.getFirst();
            }
            case "last" -> {
                if (v instanceof Generator) {
                    throw PyError.type("'generator' object is not reversible");
                }
                List<Object> l = Py.iterate(v);
                return l.isEmpty() ? new Undefined("No last item, sequence was empty.") : l.getLast();
            }
            case "default", "d" -> {
                Object dflt = arg(args, kw, 0, "default_value", "");
                boolean bool = flag(args, kw, 1, "boolean", false);
                if (v instanceof Undefined || (bool && !Py.truthy(v))) {
                    return dflt;
                }
                return v;
            }
            case "lower" -> {
                return Py.str(v).toLowerCase(Locale.ROOT);
            }
            case "upper" -> {
                return Py.str(v).toUpperCase(Locale.ROOT);
            }
            case "capitalize" -> {
                return Methods.capitalize(Py.str(v));
            }
            case "title" -> {
                // Jinja splits before runs of "-", whitespace and opening brackets, then capitalizes each piece.
                String s = Py.str(v);
                StringBuilder sb = new StringBuilder();
                int k = 0;
                while (k < s.length()) {
                    int e = k;
                    boolean sepRun = isTitleSep(s.charAt(k));
                    while (e < s.length() && isTitleSep(s.charAt(e)) == sepRun) {
                        e++;
                    }
                    String part = s.substring(k, e);
                    sb.append(sepRun ? part : part.substring(0, 1).toUpperCase(Locale.ROOT)
                            + part.substring(1).toLowerCase(Locale.ROOT));
                    k = e;
                }
                return sb.toString();
            }
            case "replace" -> {
                Object count = arg(args, kw, 2, "count", null);
                return Methods.replace(Py.str(v), Py.str(arg(args, kw, 0, "old", "")),
                        Py.str(arg(args, kw, 1, "new", "")), count == null ? -1 : Py.toLong(count));
            }
            case "string" -> {
                return v instanceof Markup ? v : Py.str(v);
            }
            case "int" -> {
                return toInt(v, arg(args, kw, 0, "default", 0L), arg(args, kw, 1, "base", 10L));
            }
            case "float" -> {
                return toFloat(v, arg(args, kw, 0, "default", 0.0));
            }
            case "abs" -> {
                if (!Py.isNumber(v)) {
                    throw PyError.type("bad operand type for abs(): '" + Py.typeName(v) + "'");
                }
                return Py.isInt(v) ? (Object) Math.abs(Py.toLong(v)) : (Object) Math.abs(Py.toDouble(v));
            }
            case "round" -> {
                long precision = Py.toLong(arg(args, kw, 0, "precision", 0L));
                String method = Py.str(arg(args, kw, 1, "method", "common"));
                if (!Py.isNumber(v)) {
                    throw PyError.type("type " + Py.typeName(v) + " doesn't define __round__ method");
                }
                RoundingMode mode = switch (method) {
                    case "common" -> RoundingMode.HALF_EVEN;
                    case "ceil" -> RoundingMode.CEILING;
                    case "floor" -> RoundingMode.FLOOR;
                    default -> throw new PyError("FilterArgumentError", "method must be common, ceil or floor");
                };
                if (Py.isInt(v) && method.equals("common")) {
                    return Py.toLong(v);
                }
                return new BigDecimal(Py.toDouble(v)).setScale((int) precision, mode).doubleValue();
            }
            case "items" -> {
                if (v instanceof Undefined) {
                    return gen(List.of(), "items");
                }
                if (!(v instanceof Map<?, ?> m)) {
                    throw new PyError("TypeError", "can only get item pairs from a mapping.");
                }
                List<Object> out = new ArrayList<>();
                m.forEach((k, x) -> out.add(new Tuple(k, x)));
                return gen(out, "items");
            }
            case "dictsort" -> {
                if (!(v instanceof Map<?, ?> m)) {
                    throw new PyError("FilterArgumentError", "dictsort only works on mappings");
                }
                boolean cs = flag(args, kw, 0, "case_sensitive", false);
                String by = Py.str(arg(args, kw, 1, "by", "key"));
                boolean rev = flag(args, kw, 2, "reverse", false);
                int pos = by.equals("value") ? 1 : 0;
                List<Object> out = new ArrayList<>();
                m.forEach((k, x) -> out.add(new Tuple(k, x)));
                Comparator<Object> c = (a, b) -> Py.compare(sortKey(((Tuple) a).get(pos), cs),
                        sortKey(((Tuple) b).get(pos), cs), "<");
                out.sort(rev ? c.reversed() : c);
                return out;
            }
            case "safe" -> {
                return v instanceof Markup ? v : new Markup(Py.str(v));
            }
            case "escape", "e", "forceescape" -> {
                return v instanceof Markup && !name.equals("forceescape") ? v : new Markup(Markup.escape(Py.str(v)));
            }
            case "indent" -> {
                Object width = arg(args, kw, 0, "width", 4L);
                boolean first = flag(args, kw, 1, "first", false);
                boolean blank = flag(args, kw, 2, "blank", false);
                return indent(Py.str(v), Py.isStr(width) ? Py.text(width) : " ".repeat((int) Py.toLong(width)),
                        first, blank);
            }
            case "wordcount" -> {
                return (long) Methods.pySplit(Py.str(v), null, -1).size();
            }
            case "unique" -> {
                boolean cs = flag(args, kw, 0, "case_sensitive", false);
                Object attr = arg(args, kw, 1, "attribute", null);
                List<Object> out = new ArrayList<>();
                List<Object> seen = new ArrayList<>();
                for (Object o : Py.iterate(v)) {
                    Object key = sortKey(attr == null ? o : attribute(in, o, attr), cs);
                    boolean dup = false;
                    for (Object s : seen) {
                        if (Py.eq(s, key)) {
                            dup = true;
                            break;
                        }
                    }
                    if (!dup) {
                        seen.add(key);
                        out.add(o);
                    }
                }
                return gen(out, "do_unique");
            }
            case "reverse" -> {
                if (Py.isStr(v)) {
                    return new StringBuilder(Py.text(v)).reverse().toString();
                }
                List<Object> out = new ArrayList<>(Py.iterate(v));
                java.util.Collections.reverse(out);
                return out;
            }
            case "sort" -> {
                boolean rev = flag(args, kw, 0, "reverse", false);
                boolean cs = flag(args, kw, 1, "case_sensitive", false);
                Object attr = arg(args, kw, 2, "attribute", null);
                List<Object> out = new ArrayList<>(Py.iterate(v));
                Comparator<Object> c = (a, b) -> Py.compare(sortKey(attr == null ? a : attribute(in, a, attr), cs),
                        sortKey(attr == null ? b : attribute(in, b, attr), cs), "<");
                out.sort(rev ? c.reversed() : c);
                return out;
            }
            case "batch" -> {
                long n = Py.toLong(arg(args, kw, 0, "linecount", 1L));
                Object fill = arg(args, kw, 1, "fill_with", null);
                boolean hasFill = args.size() > 1 || kw.containsKey("fill_with");
                List<Object> out = new ArrayList<>();
                List<Object> cur = new ArrayList<>();
                for (Object o : Py.iterate(v)) {
                    cur.add(o);
                    if (cur.size() == n) {
                        out.add(cur);
                        cur = new ArrayList<>();
                    }
                }
                if (!cur.isEmpty()) {
                    while (hasFill && cur.size() < n) {
                        cur.add(fill);
                    }
                    out.add(cur);
                }
                return gen(out, "do_batch");
            }
            case "sum" -> {
                Object attr = arg(args, kw, 0, "attribute", null);
                Object total = arg(args, kw, 1, "start", 0L);
                for (Object o : Py.iterate(v)) {
                    total = Interpreter.binary("+", total, attr == null ? o : attribute(in, o, attr));
                }
                return total;
            }
            case "min", "max" -> {
                boolean cs = flag(args, kw, 0, "case_sensitive", false);
                Object attr = arg(args, kw, 1, "attribute", null);
                Object best = null;
                boolean any = false;
                for (Object o : Py.iterate(v)) {
                    if (!any) {
                        best = o;
                        any = true;
                        continue;
                    }
                    int c = Py.compare(sortKey(attr == null ? o : attribute(in, o, attr), cs),
                            sortKey(attr == null ? best : attribute(in, best, attr), cs), "<");
                    if (name.equals("min") ? c < 0 : c > 0) {
                        best = o;
                    }
                }
                return any ? best : new Undefined("No " + (name.equals("min") ? "smallest" : "largest")
                        + " item, sequence was empty.");
            }
            case "center" -> {
                return Methods.call(Py.str(v), "center", List.of(arg(args, kw, 0, "width", 80L)), Map.of());
            }
            case "attr" -> {
                return in.getattr(v, Py.str(arg(args, kw, 0, "name", "")));
            }
            case "format" -> {
                return Methods.percentFormat(Py.str(v), args.isEmpty() ? kw : new Tuple(args));
            }
            case "bool" -> {
                return Py.truthy(v);
            }
            case "pprint" -> {
                return Py.repr(v);
            }
            case "truncate" -> {
                long length = Py.toLong(arg(args, kw, 0, "length", 255L));
                boolean killwords = flag(args, kw, 1, "killwords", false);
                String end = Py.str(arg(args, kw, 2, "end", "..."));
                long leeway = Py.toLong(arg(args, kw, 3, "leeway", 5L));
                String s = Py.str(v);
                if (s.length() <= length + leeway) {
                    return s;
                }
                if (killwords) {
                    return s.substring(0, (int) Math.max(0, length - end.length())) + end;
                }
                String cut = s.substring(0, (int) Math.max(0, length - end.length()));
                int sp = cut.lastIndexOf(' ');
                return (sp >= 0 ? cut.substring(0, sp) : cut) + end;
            }
            case "striptags" -> {
                String s = Py.str(v).replaceAll("(?s)<!--.*?-->|<[^>]*>", "");
                return String.join(" ", Methods.pySplit(s, null, -1));
            }
            default -> throw new PyError("TemplateAssertionError", "No filter named '" + name + "'.");
        }
    }

    private static boolean isTitleSep(char c) {
        return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || Py.isSpace(c);
    }

    private static Object sortKey(Object o, boolean caseSensitive) {
        return !caseSensitive && Py.isStr(o) ? Py.text(o).toLowerCase(Locale.ROOT) : o;
    }

    static String indent(String s, String ind, boolean first, boolean blank) {
        List<String> lines = Py.splitlines(s + "\n");
        StringBuilder sb = new StringBuilder();
        if (blank) {
            sb.append(String.join("\n" + ind, lines));
        } else {
            sb.append(lines.getFirst());
            for (int k = 1; k < lines.size(); k++) {
                sb.append('\n');
                if (!lines.get(k).isEmpty()) {
                    sb.append(ind);
                }
                sb.append(lines.get(k));
            }
        }
        return first ? ind + sb : sb.toString();
    }

    private static Object toInt(Object v, Object dflt, Object base) {
        if (Py.isInt(v)) {
            return Py.toLong(v);
        }
        if (Py.isFloat(v)) {
            return (long) Py.toDouble(v);
        }
        if (Py.isStr(v)) {
            String s = Py.strip(Py.text(v), null, true, true).replace("_", "");
            try {
                int b = (int) Py.toLong(base);
                if (b == 16 && (s.startsWith("0x") || s.startsWith("0X"))) {
                    s = s.substring(2);
                }
                return Long.parseLong(s, b);
            } catch (NumberFormatException e) {
                try {
                    return (long) Double.parseDouble(s);
                } catch (NumberFormatException e2) {
                    return dflt;
                }
            }
        }
        return dflt;
    }

    private static Object toFloat(Object v, Object dflt) {
        if (Py.isNumber(v)) {
            return Py.toDouble(v);
        }
        if (Py.isStr(v)) {
            try {
                return Double.parseDouble(Py.strip(Py.text(v), null, true, true));
            } catch (NumberFormatException e) {
                return dflt;
            }
        }
        return dflt;
    }

    static List<Object> range(List<Object> a) {
        long start = 0;
        long stop;
        long step = 1;
        for (Object o : a) {
            if (!Py.isInt(o)) {
                throw PyError.type("'" + Py.typeName(o) + "' object cannot be interpreted as an integer");
            }
        }
        if (a.size() == 1) {
            stop = Py.toLong(a.getFirst());
        } else if (a.size() >= 2) {
            start = Py.toLong(a.get(0));
            stop = Py.toLong(a.get(1));
            if (a.size() > 2) {
                step = Py.toLong(a.get(2));
            }
        } else {
            throw PyError.type("range expected at least 1 argument, got 0");
        }
        if (step == 0) {
            throw PyError.value("range() arg 3 must not be zero");
        }
        List<Object> out = new ArrayList<>();
        for (long k = start; step > 0 ? k < stop : k > stop; k += step) {
            if (out.size() > 100_000) {
                throw new PyError("OverflowError", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
            }
            out.add(k);
        }
        return out;
    }

    // ------------------------------------------------------------------ tests

    static boolean test(Interpreter in, String name, Object v, List<Object> args) {
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "string" -> Py.isStr(v);
            case "number" -> Py.isNumber(v);
            case "integer" -> Py.isInt(v) && !(v instanceof Boolean);
            case "float" -> Py.isFloat(v);
            case "mapping" -> v instanceof Map;
            case "sequence" -> Py.isStr(v) || v instanceof List || v instanceof Map || v instanceof Undefined;
            case "iterable" -> Py.isStr(v) || v instanceof List || v instanceof Map || v instanceof Undefined
                    || v instanceof Generator;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "even", "odd" -> {
                if (!Py.isInt(v)) {
                    if (v instanceof Undefined u) {
                        throw u.error();
                    }
                    throw PyError.type("not all arguments converted during string formatting");
                }
                yield (Math.floorMod(Py.toLong(v), 2L) == 0) == name.equals("even");
            }
            case "divisibleby" -> {
                Object n = args.isEmpty() ? null : args.getFirst();
                yield Py.eq(Interpreter.binary("%", v, n), 0L);
            }
            case "equalto", "eq", "==" -> Py.eq(v, arg0(args, name));
            case "ne", "!=" -> !Py.eq(v, arg0(args, name));
            case "lt", "<", "lessthan" -> Py.compare(v, arg0(args, name), "<") < 0;
            case "le", "<=" -> Py.compare(v, arg0(args, name), "<=") <= 0;
            case "gt", ">", "greaterthan" -> Py.compare(v, arg0(args, name), ">") > 0;
            case "ge", ">=" -> Py.compare(v, arg0(args, name), ">=") >= 0;
            case "in" -> Py.contains(arg0(args, name), v);
            case "sameas" -> {
                Object o = arg0(args, name);
                yield v == o || (v instanceof Boolean && v.equals(o)) || (v == null && o == null);
            }
            case "callable" -> v instanceof PyCallable;
            case "lower" -> Py.str(v).equals(Py.str(v).toLowerCase(Locale.ROOT));
            case "upper" -> Py.str(v).equals(Py.str(v).toUpperCase(Locale.ROOT));
            case "escaped" -> v instanceof Markup;
            case "filter" -> FILTERS.contains(Py.str(v));
            case "test" -> TESTS.contains(Py.str(v));
            default -> throw new PyError("TemplateRuntimeError", "No test named '" + name + "'.");
        };
    }

    private static Object arg0(List<Object> args, String test) {
        if (args.isEmpty()) {
            throw PyError.type("test '" + test + "' needs one argument");
        }
        return args.getFirst();
    }

    static Map<String, Object> namespaceView(Namespace ns) {
        return new LinkedHashMap<>(ns.attrs);
    }
}
