package org.redhare.text.tokenizer;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.redhare.text.TokenizerException;

/**
 * Translates the Oniguruma / Rust-regex patterns found in tokenizer.json files (and llama.cpp's pre-tokenizer
 * lists) to {@link java.util.regex}. The syntaxes agree except where java.util.regex is ASCII by default:
 * {@code \s} must be Unicode White_Space (NBSP, U+2000.., U+3000 are whitespace for Oniguruma), and
 * {@code (?i:...)} must fold case by Unicode rules. We rewrite those two instead of switching the whole
 * pattern to UNICODE_CHARACTER_CLASS, which would also change {@code \w}, {@code \d} and slow matching.
 */
public final class Regexes {
    /**
     * The body of a character class holding Unicode White_Space (tab..CR, space, U+0085, U+00A0, U+1680,
     * U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). One binary-property predicate: spelling the ranges
     * out made java.util.regex test a chain of a dozen predicates per char.
     */
    static final String WHITESPACE_BODY = "\\p{IsWhite_Space}";

    private Regexes() {}

    public static Pattern compile(String onigPattern, String where) {
        String java = translate(onigPattern);
        try {
            return Pattern.compile(java);
        } catch (PatternSyntaxException e) {
            throw new TokenizerException("cannot translate the regex " + quote(onigPattern) + " of " + where
                    + " to java.util.regex: " + e.getDescription()
                    + ". This pattern syntax is not supported; please report it with the tokenizer file.", e);
        }
    }

    static String translate(String p) {
        StringBuilder out = new StringBuilder(p.length() + 64);
        int classDepth = 0;
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c == '\\' && i + 1 < p.length()) {
                char n = p.charAt(++i);
                if (n == 's') {
                    out.append(classDepth > 0 ? WHITESPACE_BODY : "[" + WHITESPACE_BODY + "]");
                } else if (n == 'S') {
                    // Inside a class Java accepts a nested negated class as a union member.
                    out.append("[^").append(WHITESPACE_BODY).append(']');
                } else {
                    out.append(c).append(n);
                }
            } else if (c == '[') {
                if (classDepth > 0 && (i + 1 < p.length() && p.charAt(i + 1) != ':')) {
                    // A bare '[' inside a class is a literal for Oniguruma unless it opens a POSIX bracket.
                    out.append("\\[");
                } else {
                    classDepth++;
                    out.append(c);
                    // "[]...]" and "[^]...]": a leading ']' is a literal.
                    if (i + 1 < p.length() && p.charAt(i + 1) == '^') {
                        out.append('^');
                        i++;
                    }
                    if (i + 1 < p.length() && p.charAt(i + 1) == ']') {
                        out.append("\\]");
                        i++;
                    }
                }
            } else if (c == ']' && classDepth > 0) {
                classDepth--;
                out.append(c);
            } else if (c == '&' && classDepth > 0 && i + 1 < p.length() && p.charAt(i + 1) == '&') {
                out.append("\\&"); // "&&" is class intersection in Java, a literal in Oniguruma
            } else if (c == '(' && classDepth == 0 && p.startsWith("(?i", i)
                    && i + 3 < p.length() && (p.charAt(i + 3) == ':' || p.charAt(i + 3) == ')')) {
                out.append("(?iu");
                i += 2;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static String quote(String s) {
        return "\"" + s.replace("\r", "\\r").replace("\n", "\\n") + "\"";
    }
}
