package org.redhare.text.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds added tokens in text, leftmost-longest like Hugging Face's Aho-Corasick matcher, honouring the
 * lstrip/rstrip/single_word flags. Candidates are indexed by their first char so that plain text costs one
 * table probe per char.
 */
final class AddedTokenMatcher {
    /** A piece of the input: plain text (id = -1) or an added token. */
    record Segment(String text, int id) {}

    private final Map<Character, AddedToken[]> byFirstChar = new HashMap<>();
    private final boolean[] firstAscii = new boolean[128];
    private final boolean empty;

    AddedTokenMatcher(List<AddedToken> tokens) {
        Map<Character, List<AddedToken>> groups = new HashMap<>();
        for (AddedToken t : tokens) {
            if (t.content().isEmpty()) continue;
            groups.computeIfAbsent(t.content().charAt(0), k -> new ArrayList<>()).add(t);
        }
        for (var e : groups.entrySet()) {
            List<AddedToken> l = e.getValue();
            l.sort(Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed());
            byFirstChar.put(e.getKey(), l.toArray(new AddedToken[0]));
            if (e.getKey() < 128) firstAscii[e.getKey()] = true;
        }
        empty = groups.isEmpty();
    }

    /** Splits text into segments; special tokens are ignored when parseSpecial is false. */
    void split(String text, boolean parseSpecial, List<Segment> out) {
        if (empty || text.isEmpty()) {
            if (!text.isEmpty()) out.add(new Segment(text, -1));
            return;
        }
        int textStart = 0; // start of the pending plain text
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c < 128 ? !firstAscii[c] : !byFirstChar.containsKey(c)) continue;
            AddedToken[] cands = byFirstChar.get(c);
            for (AddedToken t : cands) {
                if (!parseSpecial && t.special()) continue;
                String content = t.content();
                if (!text.startsWith(content, i)) continue;
                int s = i;
                int e = i + content.length();
                if (t.singleWord() && ((s > 0 && isWordChar(text.codePointBefore(s)))
                        || (e < n && isWordChar(text.codePointAt(e))))) {
                    continue;
                }
                if (t.lstrip()) {
                    while (s > textStart && Character.isWhitespace(text.codePointBefore(s))) {
                        s -= Character.charCount(text.codePointBefore(s));
                    }
                }
                if (t.rstrip()) {
                    while (e < n && Character.isWhitespace(text.codePointAt(e))) {
                        e += Character.charCount(text.codePointAt(e));
                    }
                }
                if (s > textStart) out.add(new Segment(text.substring(textStart, s), -1));
                out.add(new Segment(content, t.id()));
                textStart = e;
                i = e - 1;
                break;
            }
        }
        if (textStart < n) out.add(new Segment(text.substring(textStart), -1));
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }
}
