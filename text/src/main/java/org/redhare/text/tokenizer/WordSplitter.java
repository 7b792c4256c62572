package org.redhare.text.tokenizer;

import java.util.function.Consumer;

/**
 * A hand-written matcher for the GPT-4-style pre-tokenizer regex of Llama 3 and Qwen2/3:
 * <pre>
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * </pre>
 * (K = 3 for Llama 3, 1 for Qwen). java.util.regex spends most of the encode time in this pattern's character
 * class unions; this scanner decides each alternative with one category lookup per code point. Every position
 * matches one alternative, so the matches tile the text and ISOLATED splitting is just the list of matches.
 * The equivalence with the regex is tested on the corpus and on random strings (WordSplitterTest).
 *
 * <p>The same class also scans GPT-2's pattern ({@link #GPT2_REGEX}, used by ByteLevel with use_regex and by the
 * GGUF gpt-2/mpt/starcoder/falcon... lists): {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}.
 */
public final class WordSplitter implements PreTokenizer {
    /** The two spellings seen in tokenizer.json files, and llama.cpp's, that this class implements. */
    public static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    public static final String QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    public static final String GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** llama.cpp's spelling, without the final \s+: a lone whitespace char is then a gap, which splits the same. */
    public static final String GPT2_REGEX_LLAMA_CPP = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

    private static final byte OTHER = 0;
    private static final byte LETTER = 1;
    private static final byte NUMBER = 2;
    private static final byte SPACE = 3;
    private static final byte[] ASCII = new byte[128];

    static {
        for (int c = 0; c < 128; c++) ASCII[c] = classifySlow(c);
    }

    private final boolean gpt2;
    private final int maxDigits;
    /** Whether the contractions fold case by Unicode rules ((?i:...)) or only ASCII ('[sS]', llama.cpp's spelling). */
    private final boolean unicodeCase;

    public WordSplitter(int maxDigits, boolean unicodeCase) {
        this(false, maxDigits, unicodeCase);
    }

    private WordSplitter(boolean gpt2, int maxDigits, boolean unicodeCase) {
        this.gpt2 = gpt2;
        this.maxDigits = maxDigits;
        this.unicodeCase = unicodeCase;
    }

    /** GPT-2's pattern: case-sensitive contractions, optional space before letters, numbers or other runs. */
    public static WordSplitter gpt2() {
        return new WordSplitter(true, Integer.MAX_VALUE, false);
    }

    /** The splitter for a regex, or null when it is not one of the patterns this class implements. */
    public static WordSplitter forRegex(String onigPattern) {
        if (onigPattern.equals(LLAMA3_REGEX)) return new WordSplitter(3, true);
        if (onigPattern.equals(QWEN2_REGEX)) return new WordSplitter(1, true);
        if (onigPattern.equals(GPT2_REGEX) || onigPattern.equals(GPT2_REGEX_LLAMA_CPP)) return gpt2();
        return null;
    }

    private static byte classifySlow(int cp) {
        if (isWhiteSpace(cp)) return SPACE;
        if (Character.isLetter(cp)) return LETTER;
        int t = Character.getType(cp);
        if (t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER) return NUMBER;
        return OTHER;
    }

    private static byte classify(int cp) {
        return cp < 128 ? ASCII[cp] : classifySlow(cp);
    }

    /** Unicode White_Space, as Oniguruma's \s. */
    static boolean isWhiteSpace(int c) {
        return (c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A)
                || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    @Override
    public void split(String s, boolean atInputStart, Consumer<String> out) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            int end = matchAt(s, i, n);
            out.accept(s.substring(i, end));
            i = end;
        }
    }

    /** End of the regex match starting at i (every position matches). */
    int matchAt(String s, int i, int n) {
        return gpt2 ? gpt2MatchAt(s, i, n) : gpt4MatchAt(s, i, n);
    }

    private int gpt2MatchAt(String s, int i, int n) {
        char c = s.charAt(i);
        if (c == '\'' && i + 1 < n) {
            char a = s.charAt(i + 1);
            char b = i + 2 < n ? s.charAt(i + 2) : 0;
            if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
        }
        int start = i;
        int cp = Character.codePointAt(s, i);
        byte k = classify(cp);
        if (c == ' ' && i + 1 < n) {
            // " ?X+": the space joins a following letter, number or other run
            int cp2 = Character.codePointAt(s, i + 1);
            byte k2 = classify(cp2);
            if (k2 != SPACE) {
                start = i + 1;
                cp = cp2;
                k = k2;
            }
        }
        if (k != SPACE) {
            int j = start + Character.charCount(cp);
            while (j < n) {
                int q = Character.codePointAt(s, j);
                if (classify(q) != k) break;
                j += Character.charCount(q);
            }
            return j;
        }
        int runEnd = i;
        while (runEnd < n && isWhiteSpace(s.charAt(runEnd))) runEnd++;
        if (runEnd == n) return n;
        if (runEnd - i >= 2) return runEnd - 1;
        return runEnd;
    }

    private int gpt4MatchAt(String s, int i, int n) {
        char c = s.charAt(i);
        // 1. contractions
        if (c == '\'' && i + 1 < n) {
            int len = contraction(s, i + 1, n);
            if (len > 0) return i + 1 + len;
        }
        int cp = Character.codePointAt(s, i);
        int cl = Character.charCount(cp);
        byte k = classify(cp);
        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if (k == LETTER) return letters(s, i + cl, n);
        if (k != NUMBER && c != '\r' && c != '\n' && i + cl < n) {
            int cp2 = Character.codePointAt(s, i + cl);
            if (classify(cp2) == LETTER) return letters(s, i + cl + Character.charCount(cp2), n);
        }
        // 3. \p{N}{1,K}
        if (k == NUMBER) {
            int j = i + cl;
            for (int d = 1; d < maxDigits && j < n; d++) {
                int q = Character.codePointAt(s, j);
                if (classify(q) != NUMBER) break;
                j += Character.charCount(q);
            }
            return j;
        }
        // 4. ' '?[^\s\p{L}\p{N}]+[\r\n]*
        int j = -1;
        if (k == OTHER) {
            j = i + cl;
        } else if (c == ' ' && i + 1 < n) {
            int cp2 = Character.codePointAt(s, i + 1);
            if (classify(cp2) == OTHER) j = i + 1 + Character.charCount(cp2);
        }
        if (j >= 0) {
            while (j < n) {
                int q = Character.codePointAt(s, j);
                if (classify(q) != OTHER) break;
                j += Character.charCount(q);
            }
            while (j < n && (s.charAt(j) == '\r' || s.charAt(j) == '\n')) j++;
            return j;
        }
        // k == SPACE here (whitespace chars are all BMP). 5. \s*[\r\n]+ : up to the last newline of the run.
        int runEnd = i;
        int lastNewline = -1;
        while (runEnd < n && isWhiteSpace(s.charAt(runEnd))) {
            char w = s.charAt(runEnd);
            if (w == '\r' || w == '\n') lastNewline = runEnd;
            runEnd++;
        }
        if (lastNewline >= 0) return lastNewline + 1;
        // 6. \s+(?!\S): leave the last space to the next word, unless the run ends the text.
        if (runEnd == n) return n;
        if (runEnd - i >= 2) return runEnd - 1;
        // 7. \s+
        return runEnd;
    }

    private int letters(String s, int j, int n) {
        while (j < n) {
            char ch = s.charAt(j);
            if (ch < 128) {
                if (ASCII[ch] != LETTER) break;
                j++;
                continue;
            }
            int q = Character.codePointAt(s, j);
            if (!Character.isLetter(q)) break;
            j += Character.charCount(q);
        }
        return j;
    }

    /** Length after the apostrophe of s|t|re|ve|m|ll|d (first alternative that matches), or 0. */
    private int contraction(String s, int j, int n) {
        char a = fold(s.charAt(j));
        char b = j + 1 < n ? fold(s.charAt(j + 1)) : 0;
        return switch (a) {
            case 's', 't', 'm', 'd' -> 1;
            case 'r', 'v' -> b == 'e' ? 2 : 0;
            case 'l' -> b == 'l' ? 2 : 0;
            default -> 0;
        };
    }

    private char fold(char c) {
        if (c < 128) return (char) (c | (c >= 'A' && c <= 'Z' ? 0x20 : 0));
        if (!unicodeCase) return 0;
        // Unicode case-insensitive matching: U+017F (long s) matches 's', U+212A (Kelvin) 'k'.
        char f = Character.toLowerCase(Character.toUpperCase(c));
        return f < 128 ? f : 0;
    }
}
