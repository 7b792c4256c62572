package org.redhare.text.template;

import java.util.List;

/** The parsed template: statements and expressions, each with the source line it came from. */
sealed interface Node {

    int line();

    // ---- statements ----
    sealed interface Stmt extends Node {}

    record Text(String text, int line) implements Stmt {}

    record Output(Expr expr, int line) implements Stmt {}

    record If(List<Expr> conditions, List<List<Stmt>> bodies, List<Stmt> elseBody, int line) implements Stmt {}

    record For(Expr target, Expr iterable, Expr filter, List<Stmt> body, List<Stmt> elseBody, boolean recursive,
               int line) implements Stmt {}

    record Set(Expr target, Expr value, int line) implements Stmt {}

    /** {% set name %}...{% endset %}, optionally piped through filters ({% set name | trim %}). */
    record SetBlock(Expr target, List<Stmt> body, List<Filter> filters, int line) implements Stmt {}

    record Macro(String name, List<String> params, List<Expr> defaults, List<Stmt> body, int line) implements Stmt {}

    /** {% call(params) macro(args) %}body{% endcall %}: the body becomes the macro's {@code caller()}. */
    record CallBlock(Call call, List<String> params, List<Expr> defaults, List<Stmt> body, int line) implements Stmt {}

    /** {% filter f %}body{% endfilter %}: filters with a null operand, applied to the rendered body. */
    record FilterBlock(List<Filter> filters, List<Stmt> body, int line) implements Stmt {}

    record With(List<Expr> targets, List<Expr> values, List<Stmt> body, int line) implements Stmt {}

    record Break(int line) implements Stmt {}

    record Continue(int line) implements Stmt {}

    // ---- expressions ----
    sealed interface Expr extends Node {}

    record Const(Object value, int line) implements Expr {}

    record Name(String name, int line) implements Expr {}

    record GetAttr(Expr object, String name, int line) implements Expr {}

    record GetItem(Expr object, Expr index, int line) implements Expr {}

    record Slice(Expr start, Expr stop, Expr step, int line) implements Expr {}

    record Call(Expr function, List<Expr> args, List<String> kwNames, List<Expr> kwValues, int line) implements Expr {}

    /** operand is null inside {% filter %} blocks and {% set x | f %}, where the body is the operand. */
    record Filter(Expr operand, String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues, int line)
            implements Expr {}

    record Test(Expr operand, String name, List<Expr> args, boolean negated, int line) implements Expr {}

    record Binary(String op, Expr left, Expr right, int line) implements Expr {}

    record Unary(String op, Expr operand, int line) implements Expr {}

    /** Python chained comparison: a < b <= c. ops: ==, !=, <, <=, >, >=, in, notin. */
    record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr {}

    record And(Expr left, Expr right, int line) implements Expr {}

    record Or(Expr left, Expr right, int line) implements Expr {}

    record Not(Expr operand, int line) implements Expr {}

    /** elseExpr null: the missing else yields an undefined value, as in Jinja2. */
    record CondExpr(Expr test, Expr then, Expr elseExpr, int line) implements Expr {}

    record ListLit(List<Expr> items, int line) implements Expr {}

    record TupleLit(List<Expr> items, int line) implements Expr {}

    record DictLit(List<Expr> keys, List<Expr> values, int line) implements Expr {}
}
