package org.redhare.text.template;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.redhare.text.template.Lexer.Token;
import org.redhare.text.template.Lexer.Type;
import org.redhare.text.template.Node.*;

/** Recursive-descent parser following Jinja2's grammar and operator precedence. */
final class Parser {

    private final List<Token> tokens;
    private int i;
    private int loopDepth;
    /** Names of the blocks being parsed, innermost last, for "unexpected end" messages. */
    private final List<String> openBlocks = new ArrayList<>();

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Stmt> parse(String source) {
        Parser p = new Parser(Lexer.tokenize(source));
        return p.subparse();
    }

    // ---------------------------------------------------------------- helpers

    private Token peek() {
        return tokens.get(i);
    }

    private Token peek(int ahead) {
        return tokens.get(Math.min(i + ahead, tokens.size() - 1));
    }

    private Token next() {
        Token t = tokens.get(i);
        if (t.type() != Type.EOF) {
            i++;
        }
        return t;
    }

    private TemplateException fail(String msg, Token at) {
        return new TemplateException("TemplateSyntaxError", msg, at.line());
    }

    private boolean skipOp(String op) {
        if (peek().isOp(op)) {
            i++;
            return true;
        }
        return false;
    }

    private boolean skipName(String name) {
        if (peek().isName(name)) {
            i++;
            return true;
        }
        return false;
    }

    private Token expectOp(String op) {
        Token t = peek();
        if (!t.isOp(op)) {
            throw fail("expected token '" + op + "', got " + t.describe(), t);
        }
        return next();
    }

    private String expectName() {
        Token t = peek();
        if (t.type() != Type.NAME) {
            throw fail("expected a name, got " + t.describe(), t);
        }
        return next().text();
    }

    private void expectBlockEnd() {
        Token t = peek();
        if (t.type() != Type.BLOCK_END) {
            throw fail("expected token 'end of statement block', got " + t.describe(), t);
        }
        next();
    }

    // ---------------------------------------------------------------- statements

    /** Parses until EOF (no ends) or until a block tag whose name is in ends; leaves the end name as current token. */
    private List<Stmt> subparse(String... ends) {
        List<Stmt> body = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.type()) {
                case EOF -> {
                    if (ends.length > 0) {
                        throw fail("unexpected end of template; the innermost block that needs to be closed is '"
                                + openBlocks.getLast() + "' (expected " + String.join(" or ", quoted(ends)) + ")", t);
                    }
                    return body;
                }
                case TEXT -> body.add(new Text(next().text(), t.line()));
                case VAR_BEGIN -> {
                    next();
                    Expr e = parseTuple(true, false);
                    Token end = peek();
                    if (end.type() != Type.VAR_END) {
                        throw fail("expected token 'end of print statement', got " + end.describe(), end);
                    }
                    next();
                    body.add(new Output(e, t.line()));
                }
                case BLOCK_BEGIN -> {
                    Token name = peek(1);
                    if (name.type() == Type.NAME && Arrays.asList(ends).contains(name.text())) {
                        next();
                        return body;
                    }
                    next();
                    body.add(statement());
                }
                default -> throw fail("unexpected " + t.describe(), t);
            }
        }
    }

    private static List<String> quoted(String[] names) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            out.add("'" + n + "'");
        }
        return out;
    }

    private Stmt statement() {
        Token t = peek();
        if (t.type() != Type.NAME) {
            throw fail("tag name expected", t);
        }
        String tag = t.text();
        next();
        openBlocks.add(tag);
        try {
            return switch (tag) {
                case "if" -> ifStmt(t);
                case "for" -> forStmt(t);
                case "set" -> setStmt(t);
                case "macro" -> macroStmt(t);
                case "call" -> callStmt(t);
                case "filter" -> filterStmt(t);
                case "with" -> withStmt(t);
                case "generation" -> {
                    // HF's AssistantTracker extension: marks assistant text for masks; renders its body unchanged.
                    expectBlockEnd();
                    List<Stmt> body = subparse("endgeneration");
                    next();
                    expectBlockEnd();
                    yield new With(List.of(), List.of(), body, t.line());
                }
                case "break", "continue" -> {
                    if (loopDepth == 0) {
                        throw fail("'" + tag + "' outside of a for loop", t);
                    }
                    expectBlockEnd();
                    yield tag.equals("break") ? new Break(t.line()) : new Continue(t.line());
                }
                default -> throw fail("Encountered unknown tag '" + tag + "'"
                        + (openBlocks.size() > 1 ? "; the innermost block that needs to be closed is '"
                        + openBlocks.get(openBlocks.size() - 2) + "'" : ""), t);
            };
        } finally {
            openBlocks.removeLast();
        }
    }

    private Stmt ifStmt(Token t) {
        List<Expr> conds = new ArrayList<>();
        List<List<Stmt>> bodies = new ArrayList<>();
        List<Stmt> elseBody = List.of();
        conds.add(parseTuple(false, false));
        expectBlockEnd();
        while (true) {
            bodies.add(subparse("elif", "else", "endif"));
            String which = next().text();
            if (which.equals("elif")) {
                conds.add(parseTuple(false, false));
                expectBlockEnd();
            } else if (which.equals("else")) {
                expectBlockEnd();
                elseBody = subparse("endif");
                next();
                expectBlockEnd();
                break;
            } else {
                expectBlockEnd();
                break;
            }
        }
        return new If(conds, bodies, elseBody, t.line());
    }

    private Stmt forStmt(Token t) {
        Expr target = assignTarget(false);
        if (!skipName("in")) {
            throw fail("expected 'in' in the for loop, got " + peek().describe(), peek());
        }
        Expr iter = parseTuple(false, false, "recursive", "if");
        Expr filter = null;
        if (skipName("if")) {
            filter = parseExpression(true);
        }
        boolean recursive = skipName("recursive");
        expectBlockEnd();
        loopDepth++;
        List<Stmt> body = subparse("endfor", "else");
        loopDepth--;
        List<Stmt> elseBody = List.of();
        if (next().text().equals("else")) {
            expectBlockEnd();
            elseBody = subparse("endfor");
            next();
        }
        expectBlockEnd();
        return new For(target, iter, filter, body, elseBody, recursive, t.line());
    }

    /** A name, a namespace attribute (ns.attr, only for set) or a tuple of names. */
    private Expr assignTarget(boolean allowNamespace) {
        List<Expr> names = new ArrayList<>();
        boolean paren = skipOp("(");
        do {
            Token n = peek();
            String name = expectName();
            if (allowNamespace && peek().isOp(".")) {
                next();
                names.add(new GetAttr(new Name(name, n.line()), expectName(), n.line()));
            } else {
                names.add(new Name(name, n.line()));
            }
        } while (skipOp(",") && peek().type() == Type.NAME);
        if (paren) {
            expectOp(")");
        }
        return names.size() == 1 && !paren ? names.getFirst() : new TupleLit(names, names.getFirst().line());
    }

    private Stmt setStmt(Token t) {
        Expr target = assignTarget(true);
        if (skipOp("=")) {
            Expr value = parseTuple(true, false);
            expectBlockEnd();
            return new Set(target, value, t.line());
        }
        List<Filter> filters = filterChain();
        expectBlockEnd();
        List<Stmt> body = subparse("endset");
        next();
        expectBlockEnd();
        return new SetBlock(target, body, filters, t.line());
    }

    private List<Filter> filterChain() {
        List<Filter> filters = new ArrayList<>();
        boolean first = true;
        while (first ? peek().type() == Type.NAME || peek().isOp("|") : peek().isOp("|")) {
            if (!first || peek().isOp("|")) {
                expectOp("|");
            }
            first = false;
            filters.add(filter(null));
        }
        return filters;
    }

    private void signature(List<String> params, List<Expr> defaults) {
        expectOp("(");
        while (!skipOp(")")) {
            if (!params.isEmpty()) {
                expectOp(",");
                if (skipOp(")")) {
                    break;
                }
            }
            params.add(expectName());
            defaults.add(skipOp("=") ? parseExpression(true) : null);
        }
    }

    private Stmt macroStmt(Token t) {
        String name = expectName();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        signature(params, defaults);
        expectBlockEnd();
        int saved = loopDepth;
        loopDepth = 0;
        List<Stmt> body = subparse("endmacro");
        loopDepth = saved;
        next();
        skipName(name);
        expectBlockEnd();
        return new Macro(name, params, defaults, body, t.line());
    }

    private Stmt callStmt(Token t) {
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        if (peek().isOp("(")) {
            signature(params, defaults);
        }
        Expr call = parseExpression(true);
        if (!(call instanceof Call c)) {
            throw fail("expected a call after 'call'", t);
        }
        expectBlockEnd();
        List<Stmt> body = subparse("endcall");
        next();
        expectBlockEnd();
        return new CallBlock(c, params, defaults, body, t.line());
    }

    private Stmt filterStmt(Token t) {
        List<Filter> filters = filterChain();
        if (filters.isEmpty()) {
            throw fail("expected a filter name after 'filter'", t);
        }
        expectBlockEnd();
        List<Stmt> body = subparse("endfilter");
        next();
        expectBlockEnd();
        return new FilterBlock(filters, body, t.line());
    }

    private Stmt withStmt(Token t) {
        List<Expr> targets = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (peek().type() != Type.BLOCK_END) {
            if (!targets.isEmpty()) {
                expectOp(",");
            }
            targets.add(assignTarget(false));
            expectOp("=");
            values.add(parseExpression(true));
        }
        expectBlockEnd();
        List<Stmt> body = subparse("endwith");
        next();
        expectBlockEnd();
        return new With(targets, values, body, t.line());
    }

    // ---------------------------------------------------------------- expressions

    private boolean tupleEnd(String... extraEndNames) {
        Token t = peek();
        if (t.type() == Type.VAR_END || t.type() == Type.BLOCK_END || t.type() == Type.EOF || t.isOp(")")) {
            return true;
        }
        for (String n : extraEndNames) {
            if (t.isName(n)) {
                return true;
            }
        }
        return false;
    }

    /** An expression or an implicit tuple (a, b). */
    private Expr parseTuple(boolean withCondExpr, boolean explicitParens, String... extraEnd) {
        int line = peek().line();
        List<Expr> items = new ArrayList<>();
        boolean isTuple = false;
        while (true) {
            if (!items.isEmpty()) {
                expectOp(",");
            }
            if (tupleEnd(extraEnd)) {
                break;
            }
            items.add(parseExpression(withCondExpr));
            if (peek().isOp(",")) {
                isTuple = true;
            } else {
                break;
            }
        }
        if (!isTuple) {
            if (!items.isEmpty()) {
                return items.getFirst();
            }
            if (!explicitParens) {
                throw fail("expected an expression, got " + peek().describe(), peek());
            }
        }
        return new TupleLit(items, line);
    }

    Expr parseExpression(boolean withCondExpr) {
        return withCondExpr ? condExpr() : or();
    }

    private Expr condExpr() {
        Expr e = or();
        while (peek().isName("if")) {
            int line = next().line();
            Expr cond = or();
            Expr otherwise = skipName("else") ? condExpr() : null;
            e = new CondExpr(cond, e, otherwise, line);
        }
        return e;
    }

    private Expr or() {
        Expr e = and();
        while (peek().isName("or")) {
            int line = next().line();
            e = new Or(e, and(), line);
        }
        return e;
    }

    private Expr and() {
        Expr e = not();
        while (peek().isName("and")) {
            int line = next().line();
            e = new And(e, not(), line);
        }
        return e;
    }

    private Expr not() {
        if (peek().isName("not")) {
            int line = next().line();
            return new Not(not(), line);
        }
        return compare();
    }

    private Expr compare() {
        int line = peek().line();
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            String op;
            if (t.type() == Type.OP && List.of("==", "!=", "<", "<=", ">", ">=").contains(t.text())) {
                op = t.text();
                next();
            } else if (t.isName("in")) {
                op = "in";
                next();
            } else if (t.isName("not") && peek(1).isName("in")) {
                op = "notin";
                next();
                next();
            } else {
                break;
            }
            ops.add(op);
            rest.add(math1());
        }
        return ops.isEmpty() ? first : new Compare(first, ops, rest, line);
    }

    private Expr math1() {
        Expr e = concat();
        while (peek().isOp("+") || peek().isOp("-")) {
            Token op = next();
            e = new Binary(op.text(), e, concat(), op.line());
        }
        return e;
    }

    private Expr concat() {
        Expr e = math2();
        while (peek().isOp("~")) {
            Token op = next();
            e = new Binary("~", e, math2(), op.line());
        }
        return e;
    }

    private Expr math2() {
        Expr e = pow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            Token op = next();
            e = new Binary(op.text(), e, pow(), op.line());
        }
        return e;
    }

    private Expr pow() {
        Expr e = unary(true);
        while (peek().isOp("**")) {
            Token op = next();
            e = new Binary("**", e, unary(true), op.line());
        }
        return e;
    }

    private Expr unary(boolean withFilter) {
        Token t = peek();
        Expr e;
        if (t.isOp("-") || t.isOp("+")) {
            next();
            e = new Unary(t.text(), unary(false), t.line());
        } else {
            e = primary();
        }
        e = postfix(e);
        if (withFilter) {
            e = filterExpr(e);
        }
        return e;
    }

    private Expr primary() {
        Token t = peek();
        switch (t.type()) {
            case NAME -> {
                next();
                return switch (t.text()) {
                    case "true", "True" -> new Const(Boolean.TRUE, t.line());
                    case "false", "False" -> new Const(Boolean.FALSE, t.line());
                    case "none", "None" -> new Const(null, t.line());
                    default -> new Name(t.text(), t.line());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder();
                while (peek().type() == Type.STRING) {
                    sb.append(next().text());
                }
                return new Const(sb.toString(), t.line());
            }
            case INT, FLOAT -> {
                next();
                return new Const(t.value(), t.line());
            }
            case OP -> {
                switch (t.text()) {
                    case "(" -> {
                        next();
                        Expr e = parseTuple(true, true);
                        expectOp(")");
                        return e;
                    }
                    case "[" -> {
                        next();
                        List<Expr> items = new ArrayList<>();
                        while (!peek().isOp("]")) {
                            if (!items.isEmpty()) {
                                expectOp(",");
                                if (peek().isOp("]")) {
                                    break;
                                }
                            }
                            items.add(parseExpression(true));
                        }
                        expectOp("]");
                        return new ListLit(items, t.line());
                    }
                    case "{" -> {
                        next();
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!peek().isOp("}")) {
                            if (!keys.isEmpty()) {
                                expectOp(",");
                                if (peek().isOp("}")) {
                                    break;
                                }
                            }
                            keys.add(parseExpression(true));
                            expectOp(":");
                            values.add(parseExpression(true));
                        }
                        expectOp("}");
                        return new DictLit(keys, values, t.line());
                    }
                    default -> {
                    }
                }
            }
            default -> {
            }
        }
        throw fail("unexpected " + t.describe(), t);
    }

    private Expr postfix(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp(".")) {
                next();
                Token n = next();
                if (n.type() == Type.NAME) {
                    e = new GetAttr(e, n.text(), t.line());
                } else if (n.type() == Type.INT) {
                    e = new GetItem(e, new Const(n.value(), n.line()), t.line());
                } else {
                    throw fail("expected name or number after '.', got " + n.describe(), n);
                }
            } else if (t.isOp("[")) {
                next();
                e = new GetItem(e, subscript(), t.line());
                expectOp("]");
            } else if (t.isOp("(")) {
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private Expr subscript() {
        int line = peek().line();
        Expr start = null;
        if (!peek().isOp(":")) {
            start = parseExpression(true);
            if (!peek().isOp(":")) {
                return start;
            }
        }
        expectOp(":");
        Expr stop = null;
        Expr step = null;
        if (!peek().isOp("]") && !peek().isOp(":")) {
            stop = parseExpression(true);
        }
        if (skipOp(":") && !peek().isOp("]")) {
            step = parseExpression(true);
        }
        return new Slice(start, stop, step, line);
    }

    private Call call(Expr fn) {
        Token open = expectOp("(");
        List<Expr> args = new ArrayList<>();
        List<String> kwNames = new ArrayList<>();
        List<Expr> kwValues = new ArrayList<>();
        boolean first = true;
        while (!peek().isOp(")")) {
            if (!first) {
                expectOp(",");
                if (peek().isOp(")")) {
                    break;
                }
            }
            first = false;
            if (peek().type() == Type.NAME && peek(1).isOp("=")) {
                kwNames.add(next().text());
                next();
                kwValues.add(parseExpression(true));
            } else {
                if (!kwNames.isEmpty()) {
                    throw fail("positional argument follows keyword argument", peek());
                }
                args.add(parseExpression(true));
            }
        }
        expectOp(")");
        return new Call(fn, args, kwNames, kwValues, open.line());
    }

    private Expr filterExpr(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp("|")) {
                next();
                e = filter(e);
            } else if (t.isName("is")) {
                next();
                e = test(e, t);
            } else if (t.isOp("(")) {
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private Filter filter(Expr operand) {
        Token n = peek();
        StringBuilder name = new StringBuilder(expectName());
        while (peek().isOp(".") && peek(1).type() == Type.NAME) {
            next();
            name.append('.').append(next().text());
        }
        if (!Builtins.FILTERS.contains(name.toString())) {
            throw new TemplateException("TemplateAssertionError", "No filter named '" + name + "'.", n.line());
        }
        if (peek().isOp("(")) {
            Call c = call(null);
            return new Filter(operand, name.toString(), c.args(), c.kwNames(), c.kwValues(), n.line());
        }
        return new Filter(operand, name.toString(), List.of(), List.of(), List.of(), n.line());
    }

    private Expr test(Expr operand, Token is) {
        boolean negated = skipName("not");
        Token n = peek();
        String name = expectName();
        if (!Builtins.TESTS.contains(name)) {
            throw new TemplateException("TemplateAssertionError", "No test named '" + name + "'.", n.line());
        }
        List<Expr> args = new ArrayList<>();
        Token a = peek();
        if (a.isOp("(")) {
            Call c = call(null);
            args.addAll(c.args());
            args.addAll(c.kwValues());
        } else if ((a.type() == Type.NAME || a.type() == Type.STRING || a.type() == Type.INT
                || a.type() == Type.FLOAT || a.isOp("[") || a.isOp("{"))
                && !a.isName("else") && !a.isName("or") && !a.isName("and")) {
            if (a.isName("is")) {
                throw fail("You cannot chain multiple tests with is", a);
            }
            args.add(postfix(primary()));
        }
        return new Test(operand, name, args, negated, n.line());
    }
}
