package org.redhare.text.template;

import java.math.BigInteger;
import java.time.Clock;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.redhare.text.template.Node.*;
import org.redhare.text.template.Values.Builtin;
import org.redhare.text.template.Values.Markup;
import org.redhare.text.template.Values.Namespace;
import org.redhare.text.template.Values.PyCallable;
import org.redhare.text.template.Values.Tuple;
import org.redhare.text.template.Values.Undefined;

/** Tree-walking evaluator for one render; not shared between threads (one instance per render call). */
final class Interpreter {

    /** A variable scope: for-loop iterations, macro calls and with-blocks get their own; if-blocks do not. */
    static final class Scope {
        final Scope parent;
        final Map<String, Object> vars = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }
    }

    private static final class BreakSignal extends RuntimeException {
        BreakSignal() {
            super(null, null, false, false);
        }
    }

    private static final class ContinueSignal extends RuntimeException {
        ContinueSignal() {
            super(null, null, false, false);
        }
    }

    private static final BreakSignal BREAK = new BreakSignal();
    private static final ContinueSignal CONTINUE = new ContinueSignal();

    private final Map<String, Object> context;
    private final Clock clock;

    Interpreter(Map<String, Object> context, Clock clock) {
        this.context = context;
        this.clock = clock;
    }

    String render(List<Stmt> body) {
        StringBuilder out = new StringBuilder(4096);
        exec(body, new Scope(null), out);
        return out.toString();
    }

    // ------------------------------------------------------------------ statements

    void exec(List<Stmt> body, Scope scope, StringBuilder out) {
        for (Stmt s : body) {
            exec(s, scope, out);
        }
    }

    private void exec(Stmt stmt, Scope scope, StringBuilder out) {
        try {
            switch (stmt) {
                case Text t -> out.append(t.text());
                case Output o -> out.append(Py.str(eval(o.expr(), scope)));
                case If f -> {
                    for (int k = 0; k < f.conditions().size(); k++) {
                        if (Py.truthy(eval(f.conditions().get(k), scope))) {
                            exec(f.bodies().get(k), scope, out);
                            return;
                        }
                    }
                    exec(f.elseBody(), scope, out);
                }
                case For f -> runFor(f, scope, eval(f.iterable(), scope), 0, out);
                case Node.Set s -> assign(s.target(), eval(s.value(), scope), scope);
                case SetBlock s -> {
                    StringBuilder body = new StringBuilder();
                    exec(s.body(), scope, body);
                    assign(s.target(), applyFilters(s.filters(), body.toString(), scope), scope);
                }
                case Node.Macro m -> scope.vars.put(m.name(), macro(m.name(), m.params(), m.defaults(), m.body(), scope));
                case CallBlock c -> {
                    PyCallable caller = macro("caller", c.params(), c.defaults(), c.body(), scope);
                    Call call = c.call();
                    Object fn = eval(call.function(), scope);
                    List<Object> args = evalArgs(call.args(), scope);
                    Map<String, Object> kwargs = evalKwargs(call.kwNames(), call.kwValues(), scope);
                    kwargs.put("caller", caller);
                    out.append(Py.str(invoke(fn, args, kwargs)));
                }
                case FilterBlock f -> {
                    StringBuilder body = new StringBuilder();
                    exec(f.body(), scope, body);
                    out.append(Py.str(applyFilters(f.filters(), body.toString(), scope)));
                }
                case With w -> {
                    Scope inner = new Scope(scope);
                    for (int k = 0; k < w.targets().size(); k++) {
                        assign(w.targets().get(k), eval(w.values().get(k), scope), inner);
                    }
                    exec(w.body(), inner, out);
                }
                case Break b -> throw BREAK;
                case Continue c -> throw CONTINUE;
            }
        } catch (PyError e) {
            throw e.at(stmt.line());
        } catch (ClassCastException | IndexOutOfBoundsException | NullPointerException
                 | ArithmeticException | IllegalArgumentException e) {
            // A value of a type the operation cannot take (e.g. "a".split(1)): report it like Python's TypeError.
            throw new TemplateException("TypeError", "invalid argument or operand: " + e.getMessage(), stmt.line());
        }
    }

    private Object applyFilters(List<Filter> filters, Object value, Scope scope) {
        Object v = value;
        for (Filter f : filters) {
            v = Builtins.filter(this, f.name(), v, evalArgs(f.args(), scope),
                    evalKwargs(f.kwNames(), f.kwValues(), scope));
        }
        return v;
    }

    private void runFor(For f, Scope scope, Object iterable, int depth, StringBuilder out) {
        if (iterable == null) {
            throw PyError.type("'NoneType' object is not iterable");
        }
        List<Object> items = Py.iterate(iterable);
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope s = new Scope(scope);
                assign(f.target(), item, s);
                if (Py.truthy(eval(f.filter(), s))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        PyCallable recurse = null;
        if (f.recursive()) {
            recurse = (args, kw) -> {
                StringBuilder sub = new StringBuilder();
                runFor(f, scope, args.isEmpty() ? null : args.getFirst(), depth + 1, sub);
                return sub.toString();
            };
        }
        LoopContext loop = new LoopContext(items, depth, recurse);
        for (int k = 0; k < items.size(); k++) {
            Scope s = new Scope(scope);
            assign(f.target(), items.get(k), s);
            s.vars.put("loop", loop);
            loop.index0 = k;
            try {
                exec(f.body(), s, out);
            } catch (BreakSignal b) {
                break;
            } catch (ContinueSignal c) {
                // next item
            }
        }
        if (items.isEmpty()) {
            exec(f.elseBody(), new Scope(scope), out);
        }
    }

    private void assign(Expr target, Object value, Scope scope) {
        switch (target) {
            case Name n -> scope.vars.put(n.name(), value);
            case GetAttr g -> {
                Object ns = eval(g.object(), scope);
                if (!(ns instanceof Namespace namespace)) {
                    throw new PyError("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
                }
                namespace.attrs.put(g.name(), value);
            }
            case TupleLit t -> {
                List<Object> vals = Py.iterate(value);
                if (vals.size() != t.items().size()) {
                    throw PyError.value(vals.size() < t.items().size()
                            ? "not enough values to unpack (expected " + t.items().size() + ", got " + vals.size() + ")"
                            : "too many values to unpack (expected " + t.items().size() + ")");
                }
                for (int k = 0; k < vals.size(); k++) {
                    assign(t.items().get(k), vals.get(k), scope);
                }
            }
            default -> throw new PyError("TemplateSyntaxError", "cannot assign to this expression");
        }
    }

    private PyCallable macro(String name, List<String> params, List<Expr> defaults, List<Stmt> body, Scope defScope) {
        return (args, kwargs) -> {
            Scope s = new Scope(defScope);
            Map<String, Object> kw = new LinkedHashMap<>(kwargs);
            for (int k = 0; k < params.size(); k++) {
                String p = params.get(k);
                Object v;
                if (k < args.size()) {
                    v = args.get(k);
                } else if (kw.containsKey(p)) {
                    v = kw.remove(p);
                } else if (defaults.get(k) != null) {
                    v = eval(defaults.get(k), s);
                } else {
                    v = new Undefined("parameter '" + p + "' was not provided");
                }
                s.vars.put(p, v);
            }
            if (kw.containsKey("caller")) {
                s.vars.put("caller", kw.remove("caller"));
            }
            s.vars.put("varargs", args.size() > params.size()
                    ? new Tuple(args.subList(params.size(), args.size())) : new Tuple());
            s.vars.put("kwargs", kw);
            StringBuilder out = new StringBuilder();
            exec(body, s, out);
            return out.toString();
        };
    }

    // ------------------------------------------------------------------ expressions

    Object eval(Expr expr, Scope scope) {
        try {
            return switch (expr) {
                case Const c -> c.value();
                case Name n -> lookup(n.name(), scope);
                case GetAttr g -> getattr(eval(g.object(), scope), g.name());
                case GetItem g -> g.index() instanceof Slice sl
                        ? slice(eval(g.object(), scope), eval(sl.start(), scope, null), eval(sl.stop(), scope, null),
                        eval(sl.step(), scope, null))
                        : getitem(eval(g.object(), scope), eval(g.index(), scope));
                case Slice sl -> throw new PyError("TemplateSyntaxError", "slice outside of a subscript");
                case Call c -> invoke(eval(c.function(), scope), evalArgs(c.args(), scope),
                        evalKwargs(c.kwNames(), c.kwValues(), scope));
                case Filter f -> Builtins.filter(this, f.name(), f.operand() == null ? null : eval(f.operand(), scope),
                        evalArgs(f.args(), scope), evalKwargs(f.kwNames(), f.kwValues(), scope));
                case Test t -> {
                    boolean r = Builtins.test(this, t.name(), eval(t.operand(), scope), evalArgs(t.args(), scope));
                    yield t.negated() != r;
                }
                case Binary b -> binary(b.op(), eval(b.left(), scope), eval(b.right(), scope));
                case Unary u -> unary(u.op(), eval(u.operand(), scope));
                case Compare c -> {
                    Object left = eval(c.first(), scope);
                    for (int k = 0; k < c.ops().size(); k++) {
                        Object right = eval(c.rest().get(k), scope);
                        if (!compareOp(c.ops().get(k), left, right)) {
                            yield false;
                        }
                        left = right;
                    }
                    yield true;
                }
                case And a -> {
                    Object l = eval(a.left(), scope);
                    yield Py.truthy(l) ? eval(a.right(), scope) : l;
                }
                case Or o -> {
                    Object l = eval(o.left(), scope);
                    yield Py.truthy(l) ? l : eval(o.right(), scope);
                }
                case Not n -> !Py.truthy(eval(n.operand(), scope));
                case CondExpr c -> {
                    if (Py.truthy(eval(c.test(), scope))) {
                        yield eval(c.then(), scope);
                    }
                    yield c.elseExpr() != null ? eval(c.elseExpr(), scope)
                            : new Undefined("the inline if-expression on line " + c.line()
                            + " evaluated to false and no else section was defined.");
                }
                case ListLit l -> {
                    List<Object> out = new ArrayList<>(l.items().size());
                    for (Expr e : l.items()) {
                        out.add(eval(e, scope));
                    }
                    yield out;
                }
                case TupleLit t -> {
                    Object[] out = new Object[t.items().size()];
                    for (int k = 0; k < out.length; k++) {
                        out[k] = eval(t.items().get(k), scope);
                    }
                    yield new Tuple(out);
                }
                case DictLit d -> {
                    Map<Object, Object> out = new LinkedHashMap<>();
                    for (int k = 0; k < d.keys().size(); k++) {
                        Object key = eval(d.keys().get(k), scope);
                        out.put(key instanceof Markup m ? m.text() : key, eval(d.values().get(k), scope));
                    }
                    yield out;
                }
            };
        } catch (PyError e) {
            throw e.at(expr.line());
        }
    }

    private Object eval(Expr e, Scope scope, Object ifNull) {
        return e == null ? ifNull : eval(e, scope);
    }

    private List<Object> evalArgs(List<Expr> args, Scope scope) {
        if (args.isEmpty()) {
            return List.of();
        }
        List<Object> out = new ArrayList<>(args.size());
        for (Expr e : args) {
            out.add(eval(e, scope));
        }
        return out;
    }

    private Map<String, Object> evalKwargs(List<String> names, List<Expr> values, Scope scope) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            out.put(names.get(k), eval(values.get(k), scope));
        }
        return out;
    }

    private Object lookup(String name, Scope scope) {
        for (Scope s = scope; s != null; s = s.parent) {
            Object v = s.vars.get(name);
            if (v != null || s.vars.containsKey(name)) {
                return v;
            }
        }
        Object v = context.get(name);
        if (v != null || context.containsKey(name)) {
            return v;
        }
        Object g = global(name);
        return g != null ? g : new Undefined("'" + name + "' is undefined");
    }

    private Object global(String name) {
        return switch (name) {
            case "range" -> new Builtin("range", (a, kw) -> Builtins.range(a));
            case "dict" -> new Builtin("dict", (a, kw) -> {
                Map<Object, Object> m = new LinkedHashMap<>();
                if (!a.isEmpty() && a.getFirst() instanceof Map<?, ?> src) {
                    m.putAll(src);
                }
                m.putAll(kw);
                return m;
            });
            case "namespace" -> new Builtin("namespace", (a, kw) -> {
                Namespace ns = new Namespace();
                if (!a.isEmpty() && a.getFirst() instanceof Map<?, ?> src) {
                    src.forEach((k, v) -> ns.attrs.put(Py.str(k), v));
                }
                ns.attrs.putAll(kw);
                return ns;
            });
            case "raise_exception" -> new Builtin("raise_exception", (a, kw) -> {
                throw new PyError("raise_exception", a.isEmpty() ? "" : Py.str(a.getFirst()));
            });
            case "strftime_now" -> new Builtin("strftime_now", (a, kw) -> {
                if (a.isEmpty()) {
                    throw PyError.type("strftime_now() missing required argument: 'format'");
                }
                return Strftime.format(Py.str(a.getFirst()), LocalDateTime.now(clock));
            });
            case "joiner" -> new Builtin("joiner", (a, kw) -> {
                String sep = a.isEmpty() ? ", " : Py.str(a.getFirst());
                boolean[] used = {false};
                return new Builtin("joiner", (a2, kw2) -> {
                    if (used[0]) {
                        return sep;
                    }
                    used[0] = true;
                    return "";
                });
            });
            case "cycler" -> new Builtin("cycler", (a, kw) -> {
                Namespace ns = new Namespace();
                int[] pos = {0};
                ns.attrs.put("next", new Builtin("next", (a2, kw2) -> a.get(pos[0]++ % a.size())));
                return ns;
            });
            default -> null;
        };
    }

    // ------------------------------------------------------------------ attribute and item access

    Object getattr(Object obj, String name) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (obj instanceof Map<?, ?> m) {
            Object method = Methods.dictMethod(m, name);
            if (method != null) {
                return method;
            }
            if (m.containsKey(name)) {
                return m.get(name);
            }
            return new Undefined("'dict object' has no attribute '" + name + "'");
        }
        if (obj instanceof Namespace ns) {
            return ns.attrs.containsKey(name) ? ns.attrs.get(name)
                    : new Undefined("'Namespace object' has no attribute '" + name + "'");
        }
        if (obj instanceof LoopContext loop) {
            return loop.attr(name);
        }
        if (Py.isStr(obj)) {
            Object method = Methods.strMethod(obj, name);
            if (method != null) {
                return method;
            }
        } else if (obj instanceof List<?> l) {
            Object method = Methods.listMethod(l, name);
            if (method != null) {
                return method;
            }
        }
        if (obj == null) {
            return new Undefined("'None' has no attribute '" + name + "'");
        }
        return new Undefined("'" + Py.typeName(obj) + " object' has no attribute '" + name + "'");
    }

    Object getitem(Object obj, Object key) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (key instanceof Undefined u && !(obj instanceof Map)) {
            throw u.error();
        }
        if (obj instanceof Map<?, ?> m) {
            Object k = key instanceof Markup mk ? mk.text() : key;
            if (m.containsKey(k)) {
                return m.get(k);
            }
            if (Py.isNumber(k)) {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (Py.eq(e.getKey(), k)) {
                        return e.getValue();
                    }
                }
            }
            if (k instanceof String s) {
                Object method = Methods.dictMethod(m, s);
                if (method != null) {
                    return method;
                }
            }
            return new Undefined("'dict object' has no attribute '" + Py.str(k) + "'");
        }
        if ((obj instanceof List<?> || Py.isStr(obj)) && Py.isInt(key)) {
            List<Object> seq = Py.isStr(obj) ? Py.iterate(obj) : Py.iterate(obj);
            long idx = Py.toLong(key);
            if (idx < 0) {
                idx += seq.size();
            }
            if (idx < 0 || idx >= seq.size()) {
                return new Undefined("'" + Py.typeName(obj) + " object' has no element " + Py.toLong(key));
            }
            return seq.get((int) idx);
        }
        if (Py.isStr(key)) {
            return getattr(obj, Py.text(key));
        }
        if (obj == null) {
            return new Undefined("'None' has no attribute '" + Py.str(key) + "'");
        }
        return new Undefined("'" + Py.typeName(obj) + " object' has no element " + Py.repr(key));
    }

    static Object slice(Object obj, Object start, Object stop, Object step) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        boolean isStr = Py.isStr(obj);
        if (!isStr && !(obj instanceof List<?>)) {
            return new Undefined("'" + Py.typeName(obj) + " object' is not subscriptable");
        }
        List<Object> seq = Py.iterate(obj);
        int n = seq.size();
        long st = sliceArg(step, 1);
        if (st == 0) {
            throw PyError.value("slice step cannot be zero");
        }
        long lower = st > 0 ? 0 : -1;
        long upper = st > 0 ? n : n - 1;
        long b = sliceBound(start, st > 0 ? lower : upper, n, lower, upper);
        long e = sliceBound(stop, st > 0 ? upper : lower, n, lower, upper);
        List<Object> out = new ArrayList<>();
        for (long k = b; st > 0 ? k < e : k > e; k += st) {
            out.add(seq.get((int) k));
        }
        if (isStr) {
            StringBuilder sb = new StringBuilder();
            out.forEach(sb::append);
            return sb.toString();
        }
        return obj instanceof Tuple ? new Tuple(out) : out;
    }

    private static long sliceArg(Object v, long dflt) {
        if (v == null || v instanceof Undefined) {
            return dflt;
        }
        if (!Py.isInt(v)) {
            throw PyError.type("slice indices must be integers or None");
        }
        return Py.toLong(v);
    }

    private static long sliceBound(Object v, long dflt, int n, long lower, long upper) {
        if (v == null || v instanceof Undefined) {
            return dflt;
        }
        long x = sliceArg(v, 0);
        if (x < 0) {
            x += n;
            return Math.max(x, lower);
        }
        return Math.min(x, upper);
    }

    Object invoke(Object fn, List<Object> args, Map<String, Object> kwargs) {
        if (fn instanceof Undefined u) {
            throw u.error();
        }
        if (fn instanceof PyCallable c) {
            return c.call(args, kwargs);
        }
        throw PyError.type("'" + Py.typeName(fn) + "' object is not callable");
    }

    // ------------------------------------------------------------------ operators

    private static boolean compareOp(String op, Object a, Object b) {
        return switch (op) {
            case "==" -> Py.eq(a, b);
            case "!=" -> !Py.eq(a, b);
            case "<" -> Py.compare(a, b, op) < 0;
            case "<=" -> Py.compare(a, b, op) <= 0;
            case ">" -> Py.compare(a, b, op) > 0;
            case ">=" -> Py.compare(a, b, op) >= 0;
            case "in" -> Py.contains(b, a);
            case "notin" -> !Py.contains(b, a);
            default -> throw new IllegalStateException(op);
        };
    }

    static Object binary(String op, Object a, Object b) {
        if (op.equals("~")) {
            return Py.str(a) + Py.str(b);
        }
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        boolean nums = Py.isNumber(a) && Py.isNumber(b);
        boolean ints = nums && Py.isInt(a) && Py.isInt(b);
        switch (op) {
            case "+" -> {
                if (nums) {
                    return ints ? (Object) intResult(BigInteger.valueOf(Py.toLong(a)).add(BigInteger.valueOf(Py.toLong(b))))
                            : (Object) (Py.toDouble(a) + Py.toDouble(b));
                }
                if (Py.isStr(a) && Py.isStr(b)) {
                    if (a instanceof Markup || b instanceof Markup) {
                        String l = a instanceof Markup m ? m.text() : Markup.escape((String) a);
                        String r = b instanceof Markup m ? m.text() : Markup.escape((String) b);
                        return new Markup(l + r);
                    }
                    return (String) a + b;
                }
                if (a instanceof List<?> la && b instanceof List<?> lb && (a instanceof Tuple) == (b instanceof Tuple)) {
                    List<Object> out = new ArrayList<>(la);
                    out.addAll(lb);
                    return a instanceof Tuple ? new Tuple(out) : out;
                }
                if (Py.isStr(a)) {
                    throw PyError.type("can only concatenate str (not \"" + Py.typeName(b) + "\") to str");
                }
                if (a instanceof List<?>) {
                    throw PyError.type("can only concatenate " + Py.typeName(a) + " (not \"" + Py.typeName(b)
                            + "\") to " + Py.typeName(a));
                }
            }
            case "-" -> {
                if (nums) {
                    return ints ? (Object) intResult(BigInteger.valueOf(Py.toLong(a)).subtract(BigInteger.valueOf(Py.toLong(b))))
                            : (Object) (Py.toDouble(a) - Py.toDouble(b));
                }
            }
            case "*" -> {
                if (nums) {
                    return ints ? (Object) intResult(BigInteger.valueOf(Py.toLong(a)).multiply(BigInteger.valueOf(Py.toLong(b))))
                            : (Object) (Py.toDouble(a) * Py.toDouble(b));
                }
                if (Py.isStr(a) && Py.isInt(b)) {
                    return Py.text(a).repeat((int) Math.max(0, Py.toLong(b)));
                }
                if (Py.isInt(a) && Py.isStr(b)) {
                    return Py.text(b).repeat((int) Math.max(0, Py.toLong(a)));
                }
                if (a instanceof List<?> l && Py.isInt(b)) {
                    List<Object> out = new ArrayList<>();
                    for (long k = 0; k < Py.toLong(b); k++) {
                        out.addAll(l);
                    }
                    return a instanceof Tuple ? new Tuple(out) : out;
                }
            }
            case "/" -> {
                if (nums) {
                    if (Py.toDouble(b) == 0) {
                        throw new PyError("ZeroDivisionError", "division by zero");
                    }
                    return Py.toDouble(a) / Py.toDouble(b);
                }
            }
            case "//" -> {
                if (nums) {
                    if (Py.toDouble(b) == 0) {
                        throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
                    }
                    return ints ? (Object) Math.floorDiv(Py.toLong(a), Py.toLong(b))
                            : (Object) Math.floor(Py.toDouble(a) / Py.toDouble(b));
                }
            }
            case "%" -> {
                if (nums) {
                    if (Py.toDouble(b) == 0) {
                        throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
                    }
                    if (ints) {
                        return Math.floorMod(Py.toLong(a), Py.toLong(b));
                    }
                    double x = Py.toDouble(a);
                    double y = Py.toDouble(b);
                    double r = x % y;
                    if (r != 0 && (r < 0) != (y < 0)) {
                        r += y;
                    }
                    return r;
                }
                if (Py.isStr(a)) {
                    return Methods.percentFormat(Py.text(a), b);
                }
            }
            case "**" -> {
                if (nums) {
                    if (ints && Py.toLong(b) >= 0) {
                        return intResult(BigInteger.valueOf(Py.toLong(a)).pow((int) Py.toLong(b)));
                    }
                    return Math.pow(Py.toDouble(a), Py.toDouble(b));
                }
            }
            default -> throw new IllegalStateException(op);
        }
        throw PyError.type("unsupported operand type(s) for " + op + ": '" + Py.typeName(a) + "' and '"
                + Py.typeName(b) + "'");
    }

    private static Object intResult(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private static Object unary(String op, Object v) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (!Py.isNumber(v)) {
            throw PyError.type("bad operand type for unary " + op + ": '" + Py.typeName(v) + "'");
        }
        if (op.equals("+")) {
            return v instanceof Boolean ? (Object) Py.toLong(v) : v;
        }
        return Py.isInt(v) ? (Object) (-Py.toLong(v)) : (Object) (-Py.toDouble(v));
    }
}
