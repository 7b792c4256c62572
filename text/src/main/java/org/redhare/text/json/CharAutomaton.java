package org.redhare.text.json;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A JSON Schema {@code pattern} (ECMA-262 syntax, the subset schemas use) as a nondeterministic automaton over code
 * points, which a string's characters step through one at a time: literals and escapes, {@code .}, classes
 * ({@code [a-z]}, {@code [^...]}, {@code \d \w \s} and their negations), groups, alternation, and the quantifiers
 * {@code * + ? {n} {n,} {n,m}} (lazy ones match the same strings). As JSON Schema says, a pattern matches anywhere in
 * the string unless {@code ^} and {@code $} anchor it. Backreferences and lookaround cannot be followed character by
 * character and are refused with an {@link IllegalArgumentException}, as are patterns that expand past
 * {@value #MAX_STATES} states.
 *
 * <p>Written here because constrained decoding needs to ask, after each character, whether the string can still match;
 * {@code java.util.regex} only answers for whole inputs (its {@code hitEnd} says a longer input might match, not
 * whether one can).
 */
final class CharAutomaton {
    static final int MAX_STATES = 4096;

    /** A set of code points: ranges, negated or not. */
    record CharSet(int[] ranges, boolean negated) {
        static final CharSet ANY = new CharSet(new int[0], true);

        /** Whether some code point from {@code lo} to {@code hi} is in the set. */
        boolean intersects(int lo, int hi) {
            if (!negated) {
                for (int i = 0; i < ranges.length; i += 2) {
                    if (ranges[i] <= hi && ranges[i + 1] >= lo) {
                        return true;
                    }
                }
                return false;
            }
            // negated: some point of [lo, hi] outside every range
            int at = lo;
            boolean moved = true;
            while (moved && at <= hi) {
                moved = false;
                for (int i = 0; i < ranges.length; i += 2) {
                    if (ranges[i] <= at && ranges[i + 1] >= at) {
                        at = ranges[i + 1] + 1;
                        moved = true;
                    }
                }
            }
            return at <= hi;
        }

        boolean matches(int cp) {
            boolean in = false;
            for (int i = 0; i < ranges.length && !in; i += 2) {
                in = cp >= ranges[i] && cp <= ranges[i + 1];
            }
            return in != negated;
        }
    }

    private sealed interface Ast permits Chars, Seq, Alt, Rep {}

    private record Chars(CharSet set) implements Ast {}

    private record Seq(List<Ast> items) implements Ast {}

    private record Alt(List<Ast> options) implements Ast {}

    private record Rep(Ast item, int min, int max) implements Ast {} // max -1: unbounded

    // states: a character transition (set, next) and/or epsilon edges
    private final List<CharSet> sets = new ArrayList<>();
    private final List<Integer> targets = new ArrayList<>();
    private final List<int[]> epsilons = new ArrayList<>();
    private final int accept;
    private final long[] start;
    private long[][] closures;

    private CharAutomaton(Ast ast) {
        int s = newState();
        int end = build(ast, s);
        accept = end;
        closures = new long[sets.size()][];
        start = closure(s);
    }

    /** The automaton of a JSON Schema pattern; a clear {@link IllegalArgumentException} for what it cannot follow. */
    static CharAutomaton compile(String pattern) {
        List<Ast> branches = new ArrayList<>();
        Ast any = new Rep(new Chars(CharSet.ANY), 0, -1);
        for (Parser.Branch b : new Parser(pattern).parse()) {
            List<Ast> whole = new ArrayList<>(); // each top-level branch with its own anchors: "^\\d+$|^auto$"
            if (!b.anchoredStart()) {
                whole.add(any);
            }
            whole.add(b.body());
            if (!b.anchoredEnd()) {
                whole.add(any);
            }
            branches.add(new Seq(whole));
        }
        return new CharAutomaton(branches.size() == 1 ? branches.get(0) : new Alt(branches));
    }

    /** The states before any character. */
    long[] start() {
        return start;
    }

    /** The states after {@code cp}, or null when no state takes it (the string can no longer match). */
    long[] step(long[] states, int cp) {
        long[] out = null;
        for (int w = 0; w < states.length; w++) {
            for (long bits = states[w]; bits != 0; bits &= bits - 1) {
                int s = w * 64 + Long.numberOfTrailingZeros(bits);
                CharSet set = sets.get(s);
                if (set != null && set.matches(cp)) {
                    long[] c = closure(targets.get(s));
                    if (out == null) {
                        out = new long[states.length];
                    }
                    for (int k = 0; k < c.length; k++) {
                        out[k] |= c[k];
                    }
                }
            }
        }
        return out;
    }

    /** Whether some code point from {@code lo} to {@code hi} can come next (a character partly written: its possible values). */
    boolean mayStep(long[] states, int lo, int hi) {
        for (int w = 0; w < states.length; w++) {
            for (long bits = states[w]; bits != 0; bits &= bits - 1) {
                CharSet set = sets.get(w * 64 + Long.numberOfTrailingZeros(bits));
                if (set != null && set.intersects(lo, hi)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether the string may end in these states. */
    boolean accepts(long[] states) {
        return (states[accept >> 6] & 1L << (accept & 63)) != 0;
    }

    private synchronized long[] closure(int s) {
        if (closures[s] == null) {
            long[] c = new long[(sets.size() + 63) / 64];
            int[] stack = new int[sets.size()];
            int top = 0;
            stack[top++] = s;
            c[s >> 6] |= 1L << (s & 63);
            while (top > 0) {
                int x = stack[--top];
                for (int y : epsilons.get(x)) {
                    if ((c[y >> 6] & 1L << (y & 63)) == 0) {
                        c[y >> 6] |= 1L << (y & 63);
                        stack[top++] = y;
                    }
                }
            }
            closures[s] = c;
        }
        return closures[s];
    }

    private int newState() {
        if (sets.size() >= MAX_STATES) {
            throw new IllegalArgumentException("the pattern expands to more than " + MAX_STATES + " automaton states: simplify its repetitions");
        }
        sets.add(null);
        targets.add(-1);
        epsilons.add(new int[0]);
        return sets.size() - 1;
    }

    private void epsilon(int from, int to) {
        int[] e = epsilons.get(from);
        e = Arrays.copyOf(e, e.length + 1);
        e[e.length - 1] = to;
        epsilons.set(from, e);
    }

    /** Builds {@code a} from state {@code from}; returns the state where it ends. */
    private int build(Ast a, int from) {
        switch (a) {
            case Chars c -> {
                int to = newState();
                sets.set(from, c.set()); // every state build() starts from is fresh: one character transition each
                targets.set(from, to);
                return to;
            }
            case Seq s -> {
                int at = from;
                for (Ast item : s.items()) {
                    int next = newState(); // a fresh state per item keeps each state to one character transition
                    epsilon(at, next);
                    at = build(item, next);
                }
                return at;
            }
            case Alt alt -> {
                int end = newState();
                for (Ast o : alt.options()) {
                    int s = newState();
                    epsilon(from, s);
                    epsilon(build(o, s), end);
                }
                return end;
            }
            case Rep r -> {
                int at = from;
                for (int i = 0; i < r.min(); i++) {
                    int s = newState();
                    epsilon(at, s);
                    at = build(r.item(), s);
                }
                if (r.max() < 0) {
                    int loop = newState();
                    epsilon(at, loop);
                    int body = newState();
                    epsilon(loop, body);
                    epsilon(build(r.item(), body), loop);
                    int end = newState();
                    epsilon(loop, end);
                    return end;
                }
                int end = newState();
                for (int i = r.min(); i < r.max(); i++) {
                    epsilon(at, end);
                    int s = newState();
                    epsilon(at, s);
                    at = build(r.item(), s);
                }
                epsilon(at, end);
                return end;
            }
        }
    }

    /** Recursive descent over the pattern's syntax. */
    private static final class Parser {
        record Branch(Ast body, boolean anchoredStart, boolean anchoredEnd) {}

        private final String p;
        private int i;
        private int depth;        // groups open around the current position
        private boolean endAnchor; // the branch just read ended with '$'

        Parser(String p) {
            this.p = p;
        }

        /** The pattern's top-level branches, each with the anchors it begins or ends with. */
        List<Branch> parse() {
            List<Branch> out = new ArrayList<>();
            while (true) {
                boolean start = i < p.length() && p.charAt(i) == '^';
                if (start) {
                    i++;
                }
                endAnchor = false;
                Ast body = sequence();
                out.add(new Branch(body, start, endAnchor));
                if (i < p.length() && p.charAt(i) == '|') {
                    i++;
                    continue;
                }
                if (i < p.length()) {
                    throw error("unexpected '" + p.charAt(i) + "'");
                }
                return out;
            }
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("pattern /" + p + "/ at " + i + ": " + what);
        }

        private Ast alternation() {
            List<Ast> options = new ArrayList<>();
            options.add(sequence());
            while (i < p.length() && p.charAt(i) == '|') {
                i++;
                options.add(sequence());
            }
            return options.size() == 1 ? options.get(0) : new Alt(options);
        }

        private Ast sequence() {
            List<Ast> items = new ArrayList<>();
            while (i < p.length() && p.charAt(i) != '|' && p.charAt(i) != ')') {
                if (p.charAt(i) == '$') {
                    if (depth == 0 && (i == p.length() - 1 || p.charAt(i + 1) == '|')) {
                        endAnchor = true;
                        i++;
                        break;
                    }
                    throw error("'$' is only followed at the end of the pattern or of one of its top-level alternatives");
                }
                if (p.charAt(i) == '^') {
                    throw error("'^' is only followed at the start of the pattern or of one of its top-level alternatives");
                }
                items.add(quantified(atom()));
            }
            return items.size() == 1 ? items.get(0) : new Seq(items);
        }

        private Ast quantified(Ast a) {
            while (i < p.length()) {
                char c = p.charAt(i);
                int min;
                int max;
                if (c == '*') {
                    min = 0;
                    max = -1;
                    i++;
                } else if (c == '+') {
                    min = 1;
                    max = -1;
                    i++;
                } else if (c == '?') {
                    min = 0;
                    max = 1;
                    i++;
                } else if (c == '{' && i + 1 < p.length() && Character.isDigit(p.charAt(i + 1))) {
                    int close = p.indexOf('}', i);
                    if (close < 0) {
                        throw error("'{' without '}'");
                    }
                    String[] parts = p.substring(i + 1, close).split(",", -1);
                    try {
                        min = Integer.parseInt(parts[0].trim());
                        max = parts.length == 1 ? min : parts[1].isBlank() ? -1 : Integer.parseInt(parts[1].trim());
                    } catch (NumberFormatException e) {
                        throw error("a repetition count that is not a number");
                    }
                    if (parts.length > 2 || (max >= 0 && max < min) || min > 1000 || max > 1000) {
                        throw error("repetition {" + p.substring(i + 1, close) + "} is not one the grammar follows");
                    }
                    i = close + 1;
                } else {
                    return a;
                }
                if (i < p.length() && p.charAt(i) == '?') {
                    i++; // lazy: the same strings match
                }
                a = new Rep(a, min, max);
            }
            return a;
        }

        private Ast atom() {
            char c = p.charAt(i);
            switch (c) {
                case '(' -> {
                    i++;
                    if (p.startsWith("?:", i)) {
                        i += 2;
                    } else if (p.startsWith("?", i)) {
                        throw error("lookaround and named groups are not followed; use plain groups");
                    }
                    depth++;
                    Ast a = alternation();
                    depth--;
                    if (i >= p.length() || p.charAt(i) != ')') {
                        throw error("'(' without ')'");
                    }
                    i++;
                    return a;
                }
                case '[' -> {
                    return new Chars(charClass());
                }
                case '.' -> {
                    i++;
                    return new Chars(new CharSet(new int[] {'\n', '\n', '\r', '\r', 0x2028, 0x2029}, true));
                }
                case '\\' -> {
                    return new Chars(escape(false));
                }
                case '*', '+', '?', '{' -> throw error("a quantifier with nothing before it");
                default -> {
                    int cp = p.codePointAt(i);
                    i += Character.charCount(cp);
                    return new Chars(new CharSet(new int[] {cp, cp}, false));
                }
            }
        }

        private CharSet charClass() {
            i++; // '['
            boolean negated = false;
            if (i < p.length() && p.charAt(i) == '^') {
                negated = true;
                i++;
            }
            List<Integer> ranges = new ArrayList<>();
            List<CharSet> nested = new ArrayList<>();
            boolean first = true;
            while (i < p.length() && (p.charAt(i) != ']' || first)) {
                first = false;
                int lo;
                if (p.charAt(i) == '\\') {
                    CharSet e = escape(true);
                    if (e.negated() || e.ranges().length != 2 || e.ranges()[0] != e.ranges()[1]) {
                        nested.add(e); // \d, \w, \s and their negations inside a class
                        continue;
                    }
                    lo = e.ranges()[0];
                } else {
                    lo = p.codePointAt(i);
                    i += Character.charCount(lo);
                }
                int hi = lo;
                if (i + 1 < p.length() && p.charAt(i) == '-' && p.charAt(i + 1) != ']') {
                    i++;
                    if (p.charAt(i) == '\\') {
                        CharSet e = escape(true);
                        if (e.negated() || e.ranges().length != 2) {
                            throw error("a class range that ends in a class");
                        }
                        hi = e.ranges()[0];
                    } else {
                        hi = p.codePointAt(i);
                        i += Character.charCount(hi);
                    }
                    if (hi < lo) {
                        throw error("a class range out of order");
                    }
                }
                ranges.add(lo);
                ranges.add(hi);
            }
            if (i >= p.length()) {
                throw error("'[' without ']'");
            }
            i++; // ']'
            if (nested.isEmpty()) {
                return new CharSet(ranges.stream().mapToInt(Integer::intValue).toArray(), negated);
            }
            // a class with \d-like members: their ranges join the class's own; a negated member (\D, \W, \S) needs the
            // union spelled out over every code point
            List<Integer> merged = new ArrayList<>(ranges);
            if (nested.stream().noneMatch(CharSet::negated)) {
                nested.forEach(n -> Arrays.stream(n.ranges()).forEach(merged::add));
                return new CharSet(merged.stream().mapToInt(Integer::intValue).toArray(), negated);
            }
            int[] own = ranges.stream().mapToInt(Integer::intValue).toArray();
            merged.clear();
            int runStart = -1;
            for (int cp = 0; cp <= 0x10FFFF + 1; cp++) {
                boolean in = false;
                if (cp <= 0x10FFFF) {
                    in = new CharSet(own, false).matches(cp);
                    for (CharSet n : nested) {
                        in |= n.matches(cp);
                    }
                }
                if (in && runStart < 0) {
                    runStart = cp;
                } else if (!in && runStart >= 0) {
                    merged.add(runStart);
                    merged.add(cp - 1);
                    runStart = -1;
                }
            }
            return new CharSet(merged.stream().mapToInt(Integer::intValue).toArray(), negated);
        }

        private static final int[] DIGITS = {'0', '9'};
        private static final int[] WORD = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
        private static final int[] SPACE = {'\t', '\r', ' ', ' ', 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029,
            0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF};

        private CharSet escape(boolean inClass) {
            i++; // '\'
            if (i >= p.length()) {
                throw error("a pattern that ends in '\\'");
            }
            char c = p.charAt(i++);
            return switch (c) {
                case 'd' -> new CharSet(DIGITS, false);
                case 'D' -> new CharSet(DIGITS, true);
                case 'w' -> new CharSet(WORD, false);
                case 'W' -> new CharSet(WORD, true);
                case 's' -> new CharSet(SPACE, false);
                case 'S' -> new CharSet(SPACE, true);
                case 't' -> single('\t');
                case 'n' -> single('\n');
                case 'r' -> single('\r');
                case 'f' -> single('\f');
                case 'v' -> single(0x0B);
                case '0' -> single(0);
                case 'b' -> {
                    if (inClass) {
                        yield single('\b');
                    }
                    throw error("word boundaries (\\b) are not followed");
                }
                case 'x' -> single(hex(2));
                case 'u' -> single(hex(4));
                default -> {
                    if (Character.isLetterOrDigit(c)) {
                        throw error("the escape \\" + c + " is not followed (backreferences and Unicode classes are not)");
                    }
                    yield single(c);
                }
            };
        }

        private int hex(int n) {
            if (i + n > p.length()) {
                throw error("a short hex escape");
            }
            try {
                int v = Integer.parseInt(p.substring(i, i + n), 16);
                i += n;
                return v;
            } catch (NumberFormatException e) {
                throw error("a hex escape that is not hex");
            }
        }

        private static CharSet single(int cp) {
            return new CharSet(new int[] {cp, cp}, false);
        }
    }
}
