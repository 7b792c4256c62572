package org.redhare.text.template;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a template into data and tag tokens with Jinja2's whitespace rules as Hugging Face configures them:
 * {@code trim_blocks} (drop the first newline after a block or comment tag), {@code lstrip_blocks} (drop spaces and
 * tabs between the start of a line and a block or comment tag), explicit {@code -}/{@code +} markers, and
 * {@code keep_trailing_newline=False} (one trailing newline of the source is dropped).
 */
final class Lexer {

    enum Type { TEXT, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    record Token(Type type, String text, Object value, int line) {
        boolean is(Type t, String s) {
            return type == t && text.equals(s);
        }

        boolean isOp(String s) {
            return type == Type.OP && text.equals(s);
        }

        boolean isName(String s) {
            return type == Type.NAME && text.equals(s);
        }

        String describe() {
            return switch (type) {
                case EOF -> "end of template";
                case VAR_END -> "end of print statement";
                case BLOCK_END -> "end of statement block";
                case TEXT -> "template data";
                default -> "'" + text + "'";
            };
        }
    }

    private static final String[] OPERATORS = {
        "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
        "<", ">", "=", ".", ":", "|", ",", ";"
    };

    private final String src;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private int line = 1;

    private Lexer(String src) {
        this.src = src;
    }

    static List<Token> tokenize(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1);   // keep_trailing_newline=False
        }
        Lexer lx = new Lexer(s);
        lx.run();
        return lx.out;
    }

    private void run() {
        boolean lineStarting = true;
        while (pos <= src.length()) {
            int start = nextTagStart(pos);
            if (start < 0) {
                emitText(src.substring(pos));
                break;
            }
            String text = src.substring(pos, start);
            char kind = src.charAt(start + 1);                 // '{', '%' or '#'
            char sign = start + 2 < src.length() ? src.charAt(start + 2) : 0;
            if (sign == '-') {
                text = Py.rstrip(text);
            } else if (sign != '+' && kind != '{') {
                int lpos = text.lastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && onlySpacesOrTabs(text, lpos)) {
                    text = text.substring(0, lpos);
                }
            }
            int textLine = line;
            emitText(text);
            line = textLine + count(src, pos, start);
            pos = start + 2 + (sign == '-' || sign == '+' ? 1 : 0);
            if (kind == '#') {
                lineStarting = comment(start);
            } else if (kind == '%' && isRawBegin()) {
                lineStarting = raw(start);
            } else {
                lineStarting = tag(kind == '{');
            }
        }
        out.add(new Token(Type.EOF, "", null, line));
    }

    private int nextTagStart(int from) {
        int i = from;
        while (true) {
            i = src.indexOf('{', i);
            if (i < 0 || i + 1 >= src.length()) {
                return -1;
            }
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i++;
        }
    }

    private static boolean onlySpacesOrTabs(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != ' ' && c != '\t') {
                return false;
            }
        }
        return true;
    }

    private static int count(String s, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }

    private void emitText(String text) {
        if (!text.isEmpty()) {
            out.add(new Token(Type.TEXT, text, text, line));
        }
        line += count(text, 0, text.length());
    }

    /** Consumes the tag end at pos ("%}" / "}}" / "#}" with its markers); returns whether the match ended in '\n'. */
    private boolean consumeEnd(char closer, boolean minus, boolean plus) {
        pos += 2;
        boolean nl = false;
        if (minus) {
            while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                nl = src.charAt(pos) == '\n';
                if (nl) {
                    line++;
                }
                pos++;
            }
        } else if (!plus && closer != '}' && pos < src.length() && src.charAt(pos) == '\n') {
            pos++;           // trim_blocks: the newline after a block or comment tag
            line++;
            nl = true;
        }
        return nl;
    }

    private boolean comment(int start) {
        int end = src.indexOf("#}", pos);
        if (end < 0) {
            throw new TemplateException("TemplateSyntaxError", "missing end of comment tag", line);
        }
        line += count(src, pos, end);
        char before = end > pos ? src.charAt(end - 1) : 0;
        pos = end;
        return consumeEnd('#', before == '-', before == '+');
    }

    private boolean isRawBegin() {
        int i = pos;
        while (i < src.length() && Py.isSpace(src.charAt(i))) {
            i++;
        }
        if (!src.startsWith("raw", i)) {
            return false;
        }
        i += 3;
        while (i < src.length() && Py.isSpace(src.charAt(i))) {
            i++;
        }
        return src.startsWith("%}", i) || src.startsWith("-%}", i) || src.startsWith("+%}", i);
    }

    /** {% raw %}...{% endraw %}: the content is data, verbatim. */
    private boolean raw(int start) {
        int close = src.indexOf("%}", pos);
        boolean minus = src.charAt(close - 1) == '-';
        line += count(src, pos, close);
        pos = close;
        consumeEnd('%', minus, src.charAt(close - 1) == '+');
        int search = pos;
        while (true) {
            int e = src.indexOf("{%", search);
            if (e < 0) {
                throw new TemplateException("TemplateSyntaxError", "missing end of raw directive ({% endraw %})", line);
            }
            int i = e + 2;
            boolean stripBefore = i < src.length() && src.charAt(i) == '-';
            if (stripBefore || (i < src.length() && src.charAt(i) == '+')) {
                i++;
            }
            while (i < src.length() && Py.isSpace(src.charAt(i))) {
                i++;
            }
            if (src.startsWith("endraw", i)) {
                i += 6;
                while (i < src.length() && Py.isSpace(src.charAt(i))) {
                    i++;
                }
                boolean sign = i < src.length() && (src.charAt(i) == '-' || src.charAt(i) == '+');
                int closeIdx = sign ? i + 1 : i;
                if (src.startsWith("%}", closeIdx)) {
                    String text = src.substring(pos, e);
                    if (stripBefore) {
                        text = Py.rstrip(text);
                    }
                    int l0 = line;
                    emitText(text);
                    line = l0 + count(src, pos, closeIdx);
                    pos = closeIdx;
                    return consumeEnd('%', sign && src.charAt(i) == '-', sign && src.charAt(i) == '+');
                }
            }
            search = e + 2;
        }
    }

    /** Tokens of one {{ }} or {% %} tag up to and including its end; returns whether the end ate a newline. */
    private boolean tag(boolean variable) {
        out.add(new Token(variable ? Type.VAR_BEGIN : Type.BLOCK_BEGIN, variable ? "{{" : "{%", null, line));
        int depth = 0;
        char closer = variable ? '}' : '%';
        while (true) {
            if (pos >= src.length()) {
                throw new TemplateException("TemplateSyntaxError",
                        "unexpected end of template, expected '" + (variable ? "}}" : "%}") + "'", line);
            }
            char c = src.charAt(pos);
            if (depth == 0) {
                boolean minus = c == '-' && src.startsWith(closer + "}", pos + 1);
                boolean plus = !variable && c == '+' && src.startsWith("%}", pos + 1);
                if (minus || plus || (c == closer && pos + 1 < src.length() && src.charAt(pos + 1) == '}')) {
                    int l = line;
                    if (minus || plus) {
                        pos++;
                    }
                    boolean nl = consumeEnd(closer, minus, plus);
                    out.add(new Token(variable ? Type.VAR_END : Type.BLOCK_END, variable ? "}}" : "%}", null, l));
                    return nl;
                }
            }
            if (Py.isSpace(c)) {
                if (c == '\n') {
                    line++;
                }
                pos++;
            } else if (c == '\'' || c == '"') {
                string(c);
            } else if (c >= '0' && c <= '9') {
                number();
            } else if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                String name = src.substring(s, pos);
                out.add(new Token(Type.NAME, name, name, line));
            } else {
                String op = null;
                for (String o : OPERATORS) {
                    if (src.startsWith(o, pos)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) {
                    throw new TemplateException("TemplateSyntaxError", "unexpected char '" + c + "'", line);
                }
                if (op.equals("(") || op.equals("[") || op.equals("{")) {
                    depth++;
                } else if (op.equals(")") || op.equals("]") || op.equals("}")) {
                    if (depth == 0) {
                        throw new TemplateException("TemplateSyntaxError", "unexpected '" + op + "'", line);
                    }
                    depth--;
                }
                out.add(new Token(Type.OP, op, null, line));
                pos += op.length();
            }
        }
    }

    private void string(char quote) {
        int startLine = line;
        StringBuilder sb = new StringBuilder();
        int i = pos + 1;
        while (true) {
            if (i >= src.length()) {
                throw new TemplateException("TemplateSyntaxError", "unexpected end of string", startLine);
            }
            char c = src.charAt(i);
            if (c == quote) {
                break;
            }
            if (c == '\n') {
                line++;
            }
            if (c == '\\' && i + 1 < src.length()) {
                char n = src.charAt(i + 1);
                i += 2;
                switch (n) {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'r' -> sb.append('\r');
                    case '\\' -> sb.append('\\');
                    case '\'' -> sb.append('\'');
                    case '"' -> sb.append('"');
                    case 'a' -> sb.append('\u0007');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'v' -> sb.append('\u000b');
                    case '0' -> sb.append('\0');
                    case '\n' -> line++;      // line continuation
                    case 'x', 'u', 'U' -> {
                        int len = n == 'x' ? 2 : n == 'u' ? 4 : 8;
                        if (i + len > src.length()) {
                            throw new TemplateException("TemplateSyntaxError", "truncated \\" + n + " escape", line);
                        }
                        try {
                            sb.appendCodePoint(Integer.parseInt(src.substring(i, i + len), 16));
                        } catch (IllegalArgumentException e) {
                            throw new TemplateException("TemplateSyntaxError", "invalid \\" + n + " escape", line);
                        }
                        i += len;
                    }
                    default -> sb.append('\\').append(n);   // Python keeps unknown escapes verbatim
                }
                continue;
            }
            sb.append(c);
            i++;
        }
        pos = i + 1;
        out.add(new Token(Type.STRING, sb.toString(), sb.toString(), startLine));
    }

    private void number() {
        int s = pos;
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
        boolean isFloat = false;
        boolean afterDot = !out.isEmpty() && out.getLast().isOp(".");   // foo.0 is an item access, not a float
        if (!afterDot && pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
        }
        if (!afterDot && pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int p = pos + 1;
            if (p < src.length() && (src.charAt(p) == '+' || src.charAt(p) == '-')) {
                p++;
            }
            if (p < src.length() && Character.isDigit(src.charAt(p))) {
                isFloat = true;
                pos = p;
                while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                    pos++;
                }
            }
        }
        String t = src.substring(s, pos).replace("_", "");
        Object v = isFloat ? (Object) Double.parseDouble(t) : (Object) Long.parseLong(t);
        out.add(new Token(isFloat ? Type.FLOAT : Type.INT, t, v, line));
    }
}
