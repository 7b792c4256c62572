package org.redhare.text.json;

import java.util.List;
import org.redhare.text.json.JsonSchemaGrammar.AnyValue;
import org.redhare.text.json.JsonSchemaGrammar.ArrayNode;
import org.redhare.text.json.JsonSchemaGrammar.Literals;
import org.redhare.text.json.JsonSchemaGrammar.Node;
import org.redhare.text.json.JsonSchemaGrammar.NumberNode;
import org.redhare.text.json.JsonSchemaGrammar.ObjectNode;
import org.redhare.text.json.JsonSchemaGrammar.Ref;
import org.redhare.text.json.JsonSchemaGrammar.StringNode;
import org.redhare.text.json.JsonSchemaGrammar.Tagged;
import org.redhare.text.json.JsonSchemaGrammar.Union;

/**
 * Follows a {@link JsonSchemaGrammar} byte by byte: {@link #allows} says whether some bytes may come next (without
 * taking them), {@link #accept} takes them, {@link #complete} says whether the document is whole. The state is a chain
 * of immutable frames, so trying a token costs only the frames its bytes create.
 *
 * <p>Bytes are UTF-8: multi-byte characters may be split between tokens, and strings take well-formed UTF-8 only. Whitespace between tokens is allowed up to
 * {@value #MAX_WHITESPACE} bytes in a row, and numbers up to {@value #MAX_DIGITS} digits a part, so that a model cannot
 * run on in them forever. Nothing may come before the document; after its end only whitespace (within the same
 * bound), since the token that closes a document often carries some ({@code "}\n"}, {@code "}\n\n"} are single tokens
 * in most vocabularies, and refusing them would make the model close the document with an unlikely token instead).
 */
public final class JsonMatcher {
    static final int MAX_WHITESPACE = 20;
    static final int MAX_DIGITS = 20;
    static final int MAX_KEY = 256;

    private Frame state;

    JsonMatcher(Node root, boolean leadingWhitespace, byte[] suffix) {
        // a document starts at once (no whitespace before it) unless the grammar says otherwise; a suffix follows the value
        this.state = new Value(root, leadingWhitespace ? 0 : MAX_WHITESPACE, suffix != null ? new Suffix(suffix, 0, 0) : null);
    }

    /** Whether {@code bytes} may come next; the state does not change. */
    public boolean allows(byte[] bytes) {
        return feed(state, bytes) != null;
    }

    /** Takes {@code bytes} if they may come next; false (and no change) otherwise. */
    public boolean accept(byte[] bytes) {
        Frame f = feed(state, bytes);
        if (f == null) {
            return false;
        }
        state = f;
        return true;
    }

    /**
     * Marks in {@code out} (cleared first) every token of {@code trie} whose bytes may come next, as {@link #allows} would
     * say of each; returns how many. Bytes that tokens share are stepped through once.
     */
    public int allowed(TokenTrie trie, boolean[] out) {
        java.util.Arrays.fill(out, false);
        int count = 0;
        int[] nodes = new int[64];
        Frame[] frames = new Frame[64];
        int top = 0;
        nodes[top] = 0;
        frames[top++] = state;
        while (top > 0) {
            int node = nodes[--top];
            Frame f = frames[top];
            frames[top] = null;
            int first = trie.childStart[node];
            for (int c = first; c < first + trie.childCount[node]; c++) {
                Frame g = f.step(trie.label[c] & 0xFF);
                if (g == null) {
                    continue;
                }
                for (int k = trie.tokenStart[c]; k < trie.tokenStart[c + 1]; k++) {
                    int id = trie.ids[k];
                    if (id < out.length && !out[id]) {
                        out[id] = true;
                        count++;
                    }
                }
                if (trie.childCount[c] > 0) {
                    if (top == nodes.length) {
                        nodes = java.util.Arrays.copyOf(nodes, 2 * top);
                        frames = java.util.Arrays.copyOf(frames, 2 * top);
                    }
                    nodes[top] = c;
                    frames[top++] = g;
                }
            }
        }
        return count;
    }

    /** Whether the document is whole (nothing but whitespace may follow). */
    public boolean complete() {
        return state instanceof Done;
    }

    private static Frame feed(Frame f, byte[] bytes) {
        for (byte b : bytes) {
            f = f.step(b & 0xFF);
            if (f == null) {
                return null;
            }
        }
        return f;
    }

    private static boolean ws(int b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    private static Node resolve(Node n) {
        while (n instanceof Ref r) {
            n = r.target;
        }
        return n;
    }

    /** One level of the document being written. */
    private abstract static sealed class Frame permits Value, Obj, Arr, Str, Key, Lit, Num, Int, Dec, Suffix, Done, Tag {
        final Frame parent;

        Frame(Frame parent) {
            this.parent = parent;
        }

        /** The state after byte {@code b}, or null if {@code b} may not come here. */
        abstract Frame step(int b);
    }

    private static final Frame DONE = new Done(0);

    /** The document is whole; {@code spaces} whitespace bytes have followed it. */
    private static final class Done extends Frame {
        final int spaces;

        Done(int spaces) {
            super(null);
            this.spaces = spaces;
        }

        @Override
        Frame step(int b) {
            return ws(b) && spaces < MAX_WHITESPACE ? new Done(spaces + 1) : null;
        }
    }

    /** A tagged value whose tag is being written; when it is whole, the value of that tag follows. */
    private static final class Tag extends Frame {
        final Tagged node;

        Tag(Tagged node, Frame parent) {
            super(parent);
            this.node = node;
        }

        @Override
        Frame step(int b) {
            return null; // never current: its tag's Lit frame hands over on completion
        }
    }

    /** The state after a value ends, {@code matched} being which literal it was (for object keys and variants). */
    private static Frame completed(Frame parent, int matched) {
        if (parent == null) {
            return DONE;
        }
        if (parent instanceof Tag t) {
            return new Value(t.node.values().get(matched), MAX_WHITESPACE, t.parent); // the value right after its tag
        }
        if (parent instanceof Suffix s) {
            return s;
        }
        if (parent instanceof Obj o) {
            if (o.phase == Obj.IN_KEY) {
                int current = o.free() ? -1 : matched == Key.EXTRA ? Key.EXTRA : o.next + matched;
                return new Obj(o.node, Obj.AFTER_KEY, o.next, current, 0, o.variant, o.parent);
            }
            if (o.node.shapes() != null && o.current == 0) {
                // the discriminator's value picks the shape; the rest of the object follows it from its second property
                return new Obj(o.node.shapes().get(o.node.shapeOfValue()[matched]), Obj.AFTER_VALUE, 1, -1, 0, -1, o.parent);
            }
            int variant = o.node.variants() != null && o.current == 0 ? matched : o.variant; // the first property picks it
            int next = o.free() ? o.next : o.current == Key.EXTRA ? o.node.properties().size() : o.current + 1;
            return new Obj(o.node, Obj.AFTER_VALUE, next, -1, 0, variant, o.parent); // IN_VALUE
        }
        Arr a = (Arr) parent; // IN_VALUE
        return new Arr(a.node, Arr.AFTER_VALUE, a.count + 1, 0, a.parent);
    }

    /** The options that can be objects (the others cannot begin with '{'). */
    private static List<Node> objects(List<Node> options) {
        List<Node> out = new java.util.ArrayList<>();
        for (Node o : options) {
            if (Value.start(resolve(o), '{', null) != null) {
                out.add(o);
            }
        }
        return out;
    }

    /** A value is expected (whitespace first). */
    private static final class Value extends Frame {
        final Node node;
        final int spaces;

        Value(Node node, int spaces, Frame parent) {
            super(parent);
            this.node = node;
            this.spaces = spaces;
        }

        @Override
        Frame step(int b) {
            if (ws(b)) {
                return spaces < MAX_WHITESPACE ? new Value(node, spaces + 1, parent) : null;
            }
            return start(resolve(node), b, parent);
        }

        /** The frame a value of {@code n} opens with byte {@code b}, or null. */
        static Frame start(Node n, int b, Frame parent) {
            return switch (n) {
                case AnyValue a -> switch (b) {
                    case '{' -> new Obj(JsonSchemaGrammar.FREE_OBJECT, Obj.OPEN, 0, -1, 0, parent);
                    case '[' -> new Arr(JsonSchemaGrammar.FREE_ARRAY, Arr.OPEN, 0, 0, parent);
                    case '"' -> new Str(parent);
                    case 't', 'f', 'n' -> new Lit(JsonSchemaGrammar.KEYWORDS.texts(), null, 0, parent).step(b);
                    default -> Num.startsWith(b) ? new Num(false, 0, 0, parent).step(b) : null;
                };
                case ObjectNode o -> b == '{' ? new Obj(o, Obj.OPEN, 0, -1, 0, parent) : null;
                case ArrayNode a -> b == '[' ? new Arr(a, Arr.OPEN, 0, 0, parent) : null;
                case StringNode s -> b == '"' ? new Str(s, parent) : null;
                case NumberNode x -> !Num.startsWith(b) ? null : x.bounded() ? new Int(x.min(), x.max(), 0, false, 0, 0, parent).step(b)
                        : x.range() != null ? new Dec(x.range(), "", 0, parent).step(b) : new Num(x.integer(), 0, 0, parent).step(b);
                case Literals l -> new Lit(l.texts(), null, 0, parent).step(b);
                case Union u -> {
                    Frame first = null;
                    for (Node o : u.options()) {
                        Frame f = start(resolve(o), b, parent);
                        if (f != null) {
                            if (first != null) {
                                // two options begin with this byte (object shapes behind $refs the compiler could not
                                // compare yet): told apart by a discriminator if they have one, else loosened, as the
                                // compiler loosens options that begin alike
                                JsonSchemaGrammar.ObjectNode d = b == '{' ? JsonSchemaGrammar.discriminated(objects(u.options())) : null;
                                yield d != null ? start(d, b, parent) : start(JsonSchemaGrammar.ANY, b, parent);
                            }
                            first = f;
                        }
                    }
                    yield first;
                }
                case Ref r -> start(resolve(r), b, parent);
                case Tagged t -> new Lit(t.tags(), null, 0, new Tag(t, parent)).step(b);
            };
        }
    }

    private static final class Obj extends Frame {
        static final int OPEN = 0, AFTER_COMMA = 1, AFTER_KEY = 2, AFTER_VALUE = 3, IN_KEY = 10, IN_VALUE = 11;
        final ObjectNode node;
        final int phase;
        final int next;    // the next property that may be written (schema objects)
        final int current; // the property whose key was written (AFTER_KEY, IN_VALUE)
        final int spaces;
        final int variant; // which of the node's variants the first property picked, or -1

        Obj(ObjectNode node, int phase, int next, int current, int spaces, Frame parent) {
            this(node, phase, next, current, spaces, -1, parent);
        }

        Obj(ObjectNode node, int phase, int next, int current, int spaces, int variant, Frame parent) {
            super(parent);
            this.node = node;
            this.phase = phase;
            this.next = next;
            this.current = current;
            this.spaces = spaces;
            this.variant = variant;
        }

        boolean free() {
            return node.free();
        }

        private boolean mayClose() {
            return free() || node.nextRequired(next) == node.properties().size();
        }

        /** Whether a key other than the declared ones may come now: only after every required one. */
        private boolean extraKeyAllowed() {
            return node.additional() && node.nextRequired(next) == node.properties().size();
        }

        @Override
        Frame step(int b) {
            if (ws(b)) {
                return spaces < MAX_WHITESPACE ? new Obj(node, phase, next, current, spaces + 1, variant, parent) : null;
            }
            switch (phase) {
                case OPEN, AFTER_COMMA -> {
                    if (b == '}' && phase == OPEN) {
                        return mayClose() ? completed(parent, 0) : null;
                    }
                    if (b != '"') {
                        return null;
                    }
                    Obj inKey = new Obj(node, IN_KEY, next, -1, 0, variant, parent);
                    if (free()) {
                        return new Str(inKey);
                    }
                    List<JsonSchemaGrammar.Property> props = node.properties();
                    int last = Math.min(node.nextRequired(next), props.size() - 1);
                    List<byte[]> keys = new java.util.ArrayList<>();
                    for (int i = next; i <= last; i++) {
                        keys.add(props.get(i).quoted());
                    }
                    if (extraKeyAllowed()) {
                        return new Key(keys, JsonMatcher.QUOTE, 0, 0x80, 0xBF, inKey);
                    }
                    if (keys.isEmpty()) {
                        return null;
                    }
                    return new Lit(keys, null, 0, inKey).step(b);
                }
                case AFTER_KEY -> {
                    if (b != ':') {
                        return null;
                    }
                    Node value = free() || current == Key.EXTRA ? JsonSchemaGrammar.ANY
                            : node.variants() != null && current == 1 && variant >= 0 ? node.variants().get(variant)
                            : node.properties().get(current).value();
                    return new Value(value, 0, new Obj(node, IN_VALUE, next, current, 0, variant, parent));
                }
                case AFTER_VALUE -> {
                    if (b == '}') {
                        return mayClose() ? completed(parent, 0) : null;
                    }
                    if (b == ',' && (free() || next < node.properties().size() || extraKeyAllowed())) {
                        return new Obj(node, AFTER_COMMA, next, -1, 0, variant, parent);
                    }
                    return null;
                }
                default -> throw new IllegalStateException("object frame in phase " + phase + " stepped");
            }
        }
    }

    private static final class Arr extends Frame {
        static final int OPEN = 0, AFTER_VALUE = 1, AFTER_COMMA = 2, IN_VALUE = 10;
        final ArrayNode node;
        final int phase;
        final int count;
        final int spaces;

        Arr(ArrayNode node, int phase, int count, int spaces, Frame parent) {
            super(parent);
            this.node = node;
            this.phase = phase;
            this.count = count;
            this.spaces = spaces;
        }

        @Override
        Frame step(int b) {
            if (ws(b)) {
                return spaces < MAX_WHITESPACE ? new Arr(node, phase, count, spaces + 1, parent) : null;
            }
            if (b == ']' && phase != AFTER_COMMA) {
                return count >= node.minItems() ? completed(parent, 0) : null;
            }
            if (phase == AFTER_VALUE) {
                return b == ',' && count < node.maxItems() ? new Arr(node, AFTER_COMMA, count, 0, parent) : null;
            }
            if (count >= node.maxItems()) {
                return null;
            }
            return Value.start(resolve(node.items()), b, new Arr(node, IN_VALUE, count, 0, parent));
        }
    }

    /** Inside a string, after its opening quote. */
    private static final class Str extends Frame {
        final int escape;  // 0 none, 1 after a backslash, 2..5: hex digits of a \\u escape still to come + 1
        final int pending; // UTF-8 continuation bytes still to come
        final int lo;      // the range the next continuation byte must fall in (narrower after E0, ED, F0, F4)
        final int hi;
        final int count;   // characters so far (an escape is one)
        final int min;     // characters the string needs at least before its closing quote
        final int max;     // characters it may hold at most
        final CharAutomaton pattern; // the pattern its characters must match, or null
        final long[] states;         // the pattern's states after the characters so far
        final int cp;                // the code point being read (UTF-8 bytes or \\u digits so far)

        /** An unbounded string, just opened. */
        Str(Frame parent) {
            this(0, 0, 0x80, 0xBF, 0, 0, Integer.MAX_VALUE, null, null, 0, parent);
        }

        /** A string of {@code node}'s lengths and pattern, just opened. */
        Str(StringNode node, Frame parent) {
            this(0, 0, 0x80, 0xBF, 0, node.minLength(), node.maxLength(), node.pattern(),
                    node.pattern() != null ? node.pattern().start() : null, 0, parent);
        }

        Str(int escape, int pending, int lo, int hi, int count, int min, int max, CharAutomaton pattern, long[] states, int cp, Frame parent) {
            super(parent);
            this.escape = escape;
            this.pending = pending;
            this.lo = lo;
            this.hi = hi;
            this.count = count;
            this.min = min;
            this.max = max;
            this.pattern = pattern;
            this.states = states;
            this.cp = cp;
        }

        private Str next(int escape, int pending, int count, long[] states, int cp) {
            return new Str(escape, pending, 0x80, 0xBF, count, min, max, pattern, states, cp, parent);
        }

        /** The pattern's states after character {@code c}, or null when it cannot match any more (always the same without a pattern). */
        private long[] after(int c) {
            return pattern == null ? NO_PATTERN : pattern.step(states, c);
        }

        private static final long[] NO_PATTERN = new long[0];

        /** The frame after a whole character {@code c}, or null when the pattern refuses it. */
        private Str character(int c, int count) {
            long[] s = after(c);
            return s == null ? null : next(0, 0, count, pattern == null ? null : s, 0);
        }

        /**
         * Whether the character partly written can still be one the pattern takes: {@code known} its leading bits,
         * {@code freeBits} bits still to come.
         */
        private boolean possible(int known, int freeBits) {
            return pattern == null || pattern.mayStep(states, known << freeBits, (known << freeBits) | ((1 << freeBits) - 1));
        }

        @Override
        Frame step(int b) {
            if (escape == 1) {
                if (b == 'u') {
                    return next(5, 0, count, states, 0);
                }
                int at = "\"\\/bfnrt".indexOf(b);
                return at < 0 ? null : character("\"\\/\b\f\n\r\t".charAt(at), count);
            }
            if (escape > 1) {
                int v = Character.digit(b, 16);
                if (v < 0) {
                    return null;
                }
                if (escape == 2) {
                    return character(cp << 4 | v, count);
                }
                return possible(cp << 4 | v, 4 * (escape - 2)) ? next(escape - 1, 0, count, states, cp << 4 | v) : null;
            }
            if (pending > 0) {
                if (b < lo || b > hi) {
                    return null;
                }
                int c = cp << 6 | (b & 0x3F);
                if (pending == 1) {
                    return character(c, count);
                }
                return possible(c, 6 * (pending - 1)) ? next(0, pending - 1, count, states, c) : null;
            }
            if (b == '"') {
                return count >= min && (pattern == null || pattern.accepts(states)) ? completed(parent, 0) : null;
            }
            if (b < 0x20 || count >= max) {
                return null; // a control character, or one character too many
            }
            if (b == '\\') {
                return possible(0, 16) ? next(1, 0, count + 1, states, 0) : null; // an escape writes a code point below 2^16
            }
            if (b < 0x80) {
                if (min == 0 && max == Integer.MAX_VALUE && pattern == null) {
                    return this; // unbounded: no count to keep
                }
                return character(b, count + 1);
            }
            int lead = lead(b);
            if (lead < 0) {
                return null;
            }
            int n = lead & 0xFF;
            int bits = b & (n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07);
            int first = (lead >> 8) & 0xFF;
            int last = lead >> 16;
            // the code points this lead byte can begin, its next byte being from first to last
            if (pattern != null && !pattern.mayStep(states, (bits << 6 | (first & 0x3F)) << 6 * (n - 1),
                    (bits << 6 | (last & 0x3F)) << 6 * (n - 1) | ((1 << 6 * (n - 1)) - 1))) {
                return null;
            }
            return new Str(0, n, first, last, count + 1, min, max, pattern, states, bits, parent);
        }
    }

    /**
     * An object key where keys beyond the declared ones may come: its bytes so far ({@code typed}, the opening quote
     * included); at its closing quote, one of {@code declared} (in the object's order: that property), or else any key
     * the object does not declare ({@link #EXTRA}). No escapes in such keys.
     */
    private static final class Key extends Frame {
        static final int EXTRA = -2;
        final List<byte[]> declared;
        final byte[] typed;
        final int pending;
        final int lo;
        final int hi;

        Key(List<byte[]> declared, byte[] typed, int pending, int lo, int hi, Frame parent) {
            super(parent);
            this.declared = declared;
            this.typed = typed;
            this.pending = pending;
            this.lo = lo;
            this.hi = hi;
        }

        private Key with(int b, int pending, int lo, int hi) {
            byte[] t = java.util.Arrays.copyOf(typed, typed.length + 1);
            t[typed.length] = (byte) b;
            return new Key(declared, t, pending, lo, hi, parent);
        }

        @Override
        Frame step(int b) {
            if (pending > 0) {
                return b >= lo && b <= hi ? with(b, pending - 1, 0x80, 0xBF) : null;
            }
            if (b == '"') {
                byte[] whole = java.util.Arrays.copyOf(typed, typed.length + 1);
                whole[typed.length] = '"';
                for (int i = 0; i < declared.size(); i++) {
                    if (java.util.Arrays.equals(declared.get(i), whole)) {
                        return completed(parent, i);
                    }
                }
                Obj o = (Obj) parent;
                return o.node.declares(whole) ? null : completed(parent, EXTRA); // a declared key out of order: no
            }
            if (b == '\\' || b < 0x20 || typed.length >= MAX_KEY) {
                return null; // keys are names, not text: a character begun may end, a new one may not past MAX_KEY bytes
            }
            if (b < 0x80) {
                return with(b, 0, 0x80, 0xBF);
            }
            int lead = lead(b);
            return lead < 0 ? null : with(b, lead & 0xFF, (lead >> 8) & 0xFF, lead >> 16);
        }
    }

    static final byte[] QUOTE = {'"'};

    /**
     * A UTF-8 lead byte {@code b} (>= 0x80): the continuation bytes it needs, and the range the first must fall in,
     * packed as {@code count | lo << 8 | hi << 16}; -1 if {@code b} cannot begin a character. Well-formed UTF-8 (RFC
     * 3629): no overlong forms, no surrogates, nothing past U+10FFFF.
     */
    static int lead(int b) {
        if (b >= 0xC2 && b <= 0xDF) {
            return 1 | 0x80 << 8 | 0xBF << 16;
        }
        if (b >= 0xE0 && b <= 0xEF) {
            return 2 | (b == 0xE0 ? 0xA0 : 0x80) << 8 | (b == 0xED ? 0x9F : 0xBF) << 16;
        }
        if (b >= 0xF0 && b <= 0xF4) {
            return 3 | (b == 0xF0 ? 0x90 : 0x80) << 8 | (b == 0xF4 ? 0x8F : 0xBF) << 16;
        }
        return -1;
    }

    /** One of some exact texts, {@code pos} bytes of it written; {@code alive}: the texts still possible (null: all). */
    private static final class Lit extends Frame {
        final List<byte[]> texts;
        final int[] alive;
        final int pos;

        Lit(List<byte[]> texts, int[] alive, int pos, Frame parent) {
            super(parent);
            this.texts = texts;
            this.alive = alive;
            this.pos = pos;
        }

        private int count() {
            return alive == null ? texts.size() : alive.length;
        }

        private int at(int i) {
            return alive == null ? i : alive[i];
        }

        @Override
        Frame step(int b) {
            int n = count();
            int[] still = new int[n];
            int m = 0;
            int whole = -1; // a text written whole so far (the byte then belongs to what follows)
            for (int i = 0; i < n; i++) {
                byte[] t = texts.get(at(i));
                if (t.length == pos) {
                    whole = at(i);
                } else if ((t[pos] & 0xFF) == b) {
                    still[m++] = at(i);
                }
            }
            if (m == 0) {
                return whole >= 0 ? feedAfter(completed(parent, whole), b) : null;
            }
            if (m == 1 && texts.get(still[0]).length == pos + 1) {
                return completed(parent, still[0]); // the only text left, now whole
            }
            return new Lit(texts, java.util.Arrays.copyOf(still, m), pos + 1, parent);
        }
    }

    /** After the value: optional whitespace, then exactly {@code text}, then the end. */
    private static final class Suffix extends Frame {
        final byte[] text;
        final int pos;
        final int spaces;

        Suffix(byte[] text, int pos, int spaces) {
            super(null);
            this.text = text;
            this.pos = pos;
            this.spaces = spaces;
        }

        @Override
        Frame step(int b) {
            if (pos == 0 && ws(b)) {
                return spaces < MAX_WHITESPACE ? new Suffix(text, 0, spaces + 1) : null;
            }
            if ((text[pos] & 0xFF) != b) {
                return null;
            }
            return pos + 1 == text.length ? DONE : new Suffix(text, pos + 1, spaces);
        }
    }

    private static Frame feedAfter(Frame f, int b) {
        return f.step(b);
    }

    /**
     * An integer from {@code min} to {@code max}: a digit is taken only while some value the number can still become
     * lies in the range, and the number ends only in it. {@code phase}: 0 start, 1 after '-', 2 after a leading 0, 3 digits.
     */
    private static final class Int extends Frame {
        final long min;
        final long max;
        final int phase;
        final boolean negative;
        final long magnitude;
        final int digits;

        Int(long min, long max, int phase, boolean negative, long magnitude, int digits, Frame parent) {
            super(parent);
            this.min = min;
            this.max = max;
            this.phase = phase;
            this.negative = negative;
            this.magnitude = magnitude;
            this.digits = digits;
        }

        private long value() {
            return negative ? -magnitude : magnitude;
        }

        /** Whether a number that begins with these digits (no more than the digit limit in all) can lie in the range. */
        private boolean reachable(boolean neg, long mag, int k, boolean leadingZero) {
            if (leadingZero) {
                return min <= 0 && 0 <= max; // 0 or -0: no digit may follow
            }
            long lo = mag;
            long span = 1; // the values with j more digits: [mag * 10^j, mag * 10^j + 10^j - 1]
            for (int j = 0; k + j <= MAX_DIGITS; j++) {
                long a = neg ? -(lo + span - 1) : lo;
                long b = neg ? -lo : lo + span - 1;
                if (a <= max && b >= min) {
                    return true;
                }
                if (neg ? b < min : a > max) {
                    return false; // longer numbers only go further out
                }
                if (lo > Long.MAX_VALUE / 10 || span > Long.MAX_VALUE / 10) {
                    return false;
                }
                lo *= 10;
                span *= 10;
            }
            return false;
        }

        @Override
        Frame step(int b) {
            boolean digit = b >= '0' && b <= '9';
            int d = b - '0';
            switch (phase) {
                case 0, 1 -> {
                    if (b == '-' && phase == 0) {
                        return min < 0 || min == 0 ? new Int(min, max, 1, true, 0, 0, parent) : null; // "-0" is 0
                    }
                    if (!digit) {
                        return null;
                    }
                    boolean neg = phase == 1;
                    return reachable(neg, d, 1, d == 0) ? new Int(min, max, d == 0 ? 2 : 3, neg, d, 1, parent) : null;
                }
                case 3 -> {
                    if (digit) {
                        if (magnitude > (Long.MAX_VALUE - 9) / 10) {
                            return null;
                        }
                        long m = magnitude * 10 + d;
                        return digits < MAX_DIGITS && reachable(negative, m, digits + 1, false)
                                ? new Int(min, max, 3, negative, m, digits + 1, parent) : null;
                    }
                }
                default -> { }
            }
            if (digit) {
                return null; // after a leading zero
            }
            long v = value();
            return v >= min && v <= max ? feedAfter(completed(parent, 0), b) : null;
        }
    }

    /**
     * A number within a {@link JsonSchemaGrammar.Range}, written without an exponent: a character is taken only while
     * some number that begins with the text so far lies in the range, and the number ends only in it. {@code phase}:
     * 0 start, 1 after '-', 2 after a leading 0, 3 integer digits, 4 after '.', 5 fraction digits.
     */
    private static final class Dec extends Frame {
        final JsonSchemaGrammar.Range range;
        final String text;
        final int phase;

        Dec(JsonSchemaGrammar.Range range, String text, int phase, Frame parent) {
            super(parent);
            this.range = range;
            this.text = text;
            this.phase = phase;
        }

        /** Whether some number beginning with {@code t} (in phase {@code ph}) lies in the range. */
        private boolean reachable(String t, int ph) {
            boolean neg = t.startsWith("-");
            String body = neg ? t.substring(1) : t;
            int dot = body.indexOf('.');
            String intPart = dot < 0 ? body : body.substring(0, dot);
            String frac = dot < 0 ? "" : body.substring(dot + 1);
            java.math.BigDecimal a = new java.math.BigDecimal(intPart + (frac.isEmpty() ? "" : "." + frac));
            java.math.BigDecimal width = java.math.BigDecimal.ONE.movePointLeft(frac.length());
            int intDigits = intPart.length();
            // the numbers it can become: [a, a + width) with more fraction digits, and for an integer part still open
            // (not a leading 0), [a * 10^j, (a + 1) * 10^j) with j more integer digits
            int more = ph == 3 ? MAX_DIGITS - intDigits : 0;
            for (int j = 0; j <= more; j++) {
                java.math.BigDecimal lo = j == 0 ? a : a.movePointRight(j);
                java.math.BigDecimal hi = j == 0 ? a.add(width) : a.add(java.math.BigDecimal.ONE).movePointRight(j);
                boolean meets = neg ? range.meets(hi.negate(), true, lo.negate(), false) : range.meets(lo, false, hi, true);
                if (meets) {
                    return true;
                }
            }
            return false;
        }

        @Override
        Frame step(int b) {
            boolean digit = b >= '0' && b <= '9';
            int to = -1;
            switch (phase) {
                case 0 -> to = b == '-' ? 1 : digit ? (b == '0' ? 2 : 3) : -1;
                case 1 -> to = digit ? (b == '0' ? 2 : 3) : -1;
                case 2 -> to = b == '.' ? 4 : -1;
                case 3 -> to = digit ? 3 : b == '.' ? 4 : -1;
                case 4, 5 -> to = digit ? 5 : -1;
                default -> { }
            }
            if (to >= 0) {
                String t = text + (char) b;
                if (to == 1) {
                    return range.meets(null, false, java.math.BigDecimal.ZERO, false) ? new Dec(range, t, 1, parent) : null;
                }
                int digits = t.length() - (t.startsWith("-") ? 1 : 0) - (t.contains(".") ? 1 : 0);
                if (digits > 2 * MAX_DIGITS || (to == 3 && t.replace("-", "").length() > MAX_DIGITS)) {
                    return null;
                }
                return reachable(to == 4 ? t.substring(0, t.length() - 1) : t, to == 4 ? 5 : to) ? new Dec(range, t, to, parent) : null;
            }
            if (digit || phase == 0 || phase == 1 || phase == 4) {
                return null; // no leading zeros; a sign or a point needs a digit after it
            }
            return range.contains(new java.math.BigDecimal(text)) ? feedAfter(completed(parent, 0), b) : null;
        }
    }

    /** A number; {@code phase}: 0 start, 1 after '-', 2 after a leading 0, 3 integer digits, 4 after '.', 5 fraction digits, 6 after 'e', 7 after its sign, 8 exponent digits. */
    private static final class Num extends Frame {
        final boolean integer;
        final int phase;
        final int digits;

        Num(boolean integer, int phase, int digits, Frame parent) {
            super(parent);
            this.integer = integer;
            this.phase = phase;
            this.digits = digits;
        }

        static boolean startsWith(int b) {
            return b == '-' || (b >= '0' && b <= '9');
        }

        private boolean whole() {
            return phase == 2 || phase == 3 || phase == 5 || phase == 8;
        }

        private Frame to(int p, int d) {
            return d > MAX_DIGITS ? null : new Num(integer, p, d, parent);
        }

        @Override
        Frame step(int b) {
            boolean digit = b >= '0' && b <= '9';
            switch (phase) {
                case 0, 1 -> {
                    if (b == '-' && phase == 0) {
                        return to(1, 0);
                    }
                    if (digit) {
                        return b == '0' ? to(2, 1) : to(3, 1);
                    }
                    return null;
                }
                case 3 -> {
                    if (digit) {
                        return to(3, digits + 1);
                    }
                }
                case 4, 6, 7 -> {
                    if (digit) {
                        return to(phase == 4 ? 5 : 8, 1);
                    }
                    if (phase == 6 && (b == '+' || b == '-')) {
                        return to(7, 0);
                    }
                    return null;
                }
                case 5, 8 -> {
                    if (digit) {
                        return to(phase, digits + 1);
                    }
                }
                default -> { }
            }
            if (!integer && (phase == 2 || phase == 3) && b == '.') {
                return to(4, 0);
            }
            if (!integer && (phase == 2 || phase == 3 || phase == 5) && (b == 'e' || b == 'E')) {
                return to(6, 0);
            }
            return whole() ? feedAfter(completed(parent, 0), b) : null;
        }
    }
}
