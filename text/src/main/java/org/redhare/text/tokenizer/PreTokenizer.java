package org.redhare.text.tokenizer;

import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits normalized text into the pieces ("words") the model encodes one by one. Pieces are handed to a consumer
 * as they are found rather than collected: a 1 MB prompt then never holds 300k live substrings, which made the
 * young collections copy them and cost more than the tokenization itself.
 */
public interface PreTokenizer {
    /**
     * Hands the pieces of text to out, in order. atInputStart tells whether the text starts the input (no added
     * token before it): Metaspace with prepend_scheme "first" prefixes only that segment.
     */
    void split(String text, boolean atInputStart, Consumer<String> out);

    /** The pieces as a list (tests, tools), text taken as the start of the input. */
    default void split(String text, List<String> out) {
        split(text, true, out::add);
    }

    /** How a regex split treats the matches (Hugging Face's SplitDelimiterBehavior). */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /** Hugging Face "Split" (and llama.cpp's regex lists, which behave as ISOLATED). */
    record RegexSplit(Pattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(String text, boolean atInputStart, Consumer<String> out) {
            if (text.isEmpty()) {
                return;
            }
            Matcher m = pattern.matcher(text);
            if (behavior == Behavior.ISOLATED) {
                // Matches and gaps alike become pieces, so inversion changes nothing; stream them.
                int last = 0;
                while (m.find()) {
                    if (m.start() == m.end()) continue; // empty matches split nothing
                    if (m.start() > last) out.accept(text.substring(last, m.start()));
                    out.accept(text.substring(m.start(), m.end()));
                    last = m.end();
                }
                if (last < text.length()) out.accept(text.substring(last));
                return;
            }
            // The text as alternating (start, end, isMatch) segments, then Hugging Face's rules per behaviour.
            IntList bounds = new IntList();  // start0, end0, start1, end1, ...
            java.util.BitSet isMatch = new java.util.BitSet();
            int last = 0;
            while (m.find()) {
                if (m.start() == m.end()) continue;
                if (m.start() > last) addSegment(bounds, isMatch, last, m.start(), invert);
                addSegment(bounds, isMatch, m.start(), m.end(), !invert);
                last = m.end();
            }
            if (last < text.length()) addSegment(bounds, isMatch, last, text.length(), invert);
            int n = bounds.size() / 2;
            IntList pieces = new IntList(); // start, end of the resulting pieces
            boolean previousMatch = false;
            switch (behavior) {
                case REMOVED -> {
                    for (int i = 0; i < n; i++) {
                        if (!isMatch.get(i)) pieces.add(bounds.get(2 * i)); else continue;
                        pieces.add(bounds.get(2 * i + 1));
                    }
                }
                case MERGED_WITH_PREVIOUS, CONTIGUOUS -> {
                    for (int i = 0; i < n; i++) {
                        boolean match = isMatch.get(i);
                        boolean merge = behavior == Behavior.CONTIGUOUS ? match == previousMatch : match && !previousMatch;
                        if (merge && pieces.size() > 0) {
                            pieces.set(pieces.size() - 1, bounds.get(2 * i + 1));
                        } else {
                            pieces.add(bounds.get(2 * i));
                            pieces.add(bounds.get(2 * i + 1));
                        }
                        previousMatch = match;
                    }
                }
                case MERGED_WITH_NEXT -> {
                    // Walk backwards: a match joins the piece after it unless that piece is a match too.
                    IntList reversed = new IntList();
                    for (int i = n - 1; i >= 0; i--) {
                        boolean match = isMatch.get(i);
                        if (match && !previousMatch && reversed.size() > 0) {
                            reversed.set(reversed.size() - 2, bounds.get(2 * i));
                        } else {
                            reversed.add(bounds.get(2 * i));
                            reversed.add(bounds.get(2 * i + 1));
                        }
                        previousMatch = match;
                    }
                    for (int i = reversed.size() - 2; i >= 0; i -= 2) {
                        pieces.add(reversed.get(i));
                        pieces.add(reversed.get(i + 1));
                    }
                }
                default -> throw new IllegalStateException(behavior.toString());
            }
            for (int i = 0; i < pieces.size(); i += 2) {
                out.accept(text.substring(pieces.get(i), pieces.get(i + 1)));
            }
        }

        private static void addSegment(IntList bounds, java.util.BitSet isMatch, int start, int end, boolean match) {
            if (match) isMatch.set(bounds.size() / 2);
            bounds.add(start);
            bounds.add(end);
        }
    }

    /** Hugging Face "Sequence": each pre-tokenizer splits every piece of the previous one (depth first, in order). */
    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(String text, boolean atInputStart, Consumer<String> out) {
            run(0, text, atInputStart, out);
        }

        private void run(int step, String text, boolean atInputStart, Consumer<String> out) {
            if (step == steps.size()) {
                out.accept(text);
                return;
            }
            boolean[] first = {atInputStart};
            steps.get(step).split(text, atInputStart, piece -> {
                boolean f = first[0];
                first[0] = false;
                run(step + 1, piece, f, out);
            });
        }
    }

    /**
     * The splitting half of Hugging Face "ByteLevel": optional prefix space and optional GPT-2 regex split
     * (a {@link WordSplitter#gpt2()}). The byte → character mapping itself is done by the byte-level BPE model.
     */
    record ByteLevelSplit(boolean addPrefixSpace, PreTokenizer gpt2Split) implements PreTokenizer {
        @Override
        public void split(String text, boolean atInputStart, Consumer<String> out) {
            if (text.isEmpty()) {
                return;
            }
            String t = addPrefixSpace && text.charAt(0) != ' ' ? " " + text : text;
            if (gpt2Split == null) {
                out.accept(t);
            } else {
                gpt2Split.split(t, atInputStart, out);
            }
        }
    }

    /** Hugging Face "Metaspace": spaces become the replacement char, optional prefix, split before each one. */
    record Metaspace(char replacement, String prependScheme, boolean splitWords) implements PreTokenizer {
        @Override
        public void split(String text, boolean atInputStart, Consumer<String> out) {
            if (text.isEmpty()) {
                return;
            }
            String t = text.replace(' ', replacement);
            boolean prepend = switch (prependScheme) {
                case "always" -> true;
                case "first" -> atInputStart; // not after an added token such as <s> or [INST]
                default -> false;
            };
            if (prepend && t.charAt(0) != replacement) {
                t = replacement + t;
            }
            if (!splitWords) {
                out.accept(t);
                return;
            }
            int start = 0;
            for (int i = 1; i < t.length(); i++) {
                if (t.charAt(i) == replacement) {
                    out.accept(t.substring(start, i));
                    start = i;
                }
            }
            out.accept(t.substring(start));
        }
    }

    /**
     * Not a Hugging Face component: splits before each run of the replacement char ("▁") so that SentencePiece-style
     * BPE without pre-tokenizer can cache words. Exact only when no vocabulary entry has a char other than "▁"
     * followed by "▁" (then no merge can cross such a boundary); the loader checks that before using it.
     */
    record BeforeMetaspaceRun(char replacement) implements PreTokenizer {
        @Override
        public void split(String text, boolean atInputStart, Consumer<String> out) {
            int start = 0;
            for (int i = 1; i < text.length(); i++) {
                if (text.charAt(i) == replacement && text.charAt(i - 1) != replacement) {
                    out.accept(text.substring(start, i));
                    start = i;
                }
            }
            if (start < text.length()) out.accept(text.substring(start));
        }

        /** Whether splitting before "▁" runs cannot change the BPE result for this vocabulary. */
        static boolean safeFor(java.util.Collection<String> vocab, char replacement) {
            for (String t : vocab) {
                for (int i = 1; i < t.length(); i++) {
                    if (t.charAt(i) == replacement && t.charAt(i - 1) != replacement) return false;
                }
            }
            return true;
        }
    }

    /** Hugging Face "Digits": digits split from the rest, one by one when individual. */
    record Digits(boolean individual) implements PreTokenizer {
        private static final Pattern ONE = Pattern.compile("\\p{Nd}");
        private static final Pattern RUN = Pattern.compile("\\p{Nd}+");

        @Override
        public void split(String text, boolean atInputStart, Consumer<String> out) {
            new RegexSplit(individual ? ONE : RUN, Behavior.ISOLATED, false).split(text, atInputStart, out);
        }
    }
}
