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
            int last = 0;
            // Pieces as (start, end, isMatch) decided on the fly; MERGED_* need the neighbour.
            int pendingStart = -1; // for MERGED_WITH_NEXT: start of a delimiter waiting for the next piece
            int prevMatchEnd = -1; // for CONTIGUOUS
            int prevStart = -1;
            while (m.find()) {
                int s = m.start();
                int e = m.end();
                if (s == e) {
                    continue; // empty matches split nothing
                }
                if (invert) {
                    // The matches are the content and the gaps the delimiters: handled below by swapping roles.
                    emitInverted(text, last, s, e, out);
                    last = e;
                    continue;
                }
                switch (behavior) {
                    case ISOLATED -> {
                        if (s > last) out.accept(text.substring(last, s));
                        out.accept(text.substring(s, e));
                    }
                    case REMOVED -> {
                        if (s > last) out.accept(text.substring(last, s));
                    }
                    case MERGED_WITH_PREVIOUS -> out.accept(text.substring(last, e));
                    case MERGED_WITH_NEXT -> {
                        int from = pendingStart >= 0 ? pendingStart : last;
                        if (s > from) out.accept(text.substring(from, s));
                        pendingStart = s;
                    }
                    case CONTIGUOUS -> {
                        if (s > last) {
                            if (prevStart >= 0) out.accept(text.substring(prevStart, prevMatchEnd));
                            out.accept(text.substring(last, s));
                            prevStart = s;
                        } else if (prevStart < 0) {
                            prevStart = s;
                        }
                        prevMatchEnd = e;
                    }
                }
                last = e;
            }
            if (invert) {
                if (last < text.length()) out.accept(text.substring(last));
                return;
            }
            switch (behavior) {
                case MERGED_WITH_NEXT -> {
                    int from = pendingStart >= 0 ? pendingStart : last;
                    if (from < text.length()) out.accept(text.substring(from));
                }
                case CONTIGUOUS -> {
                    if (prevStart >= 0) out.accept(text.substring(prevStart, prevMatchEnd));
                    if (last < text.length()) out.accept(text.substring(last));
                }
                default -> {
                    if (last < text.length()) out.accept(text.substring(last));
                }
            }
        }

        private void emitInverted(String text, int last, int s, int e, Consumer<String> out) {
            // Inverted ISOLATED/REMOVED are the common cases: the gap is the delimiter.
            if (behavior == Behavior.ISOLATED) {
                if (s > last) out.accept(text.substring(last, s));
                out.accept(text.substring(s, e));
            } else {
                out.accept(text.substring(s, e));
            }
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
     * The splitting half of Hugging Face "ByteLevel": optional prefix space and optional GPT-2 regex.
     * The byte → character mapping itself is done by the byte-level BPE model on UTF-8 bytes.
     */
    record ByteLevelSplit(boolean addPrefixSpace, Pattern regex) implements PreTokenizer {
        @Override
        public void split(String text, boolean atInputStart, Consumer<String> out) {
            if (text.isEmpty()) {
                return;
            }
            String t = addPrefixSpace && text.charAt(0) != ' ' ? " " + text : text;
            if (regex == null) {
                out.accept(t);
            } else {
                new RegexSplit(regex, Behavior.ISOLATED, false).split(t, atInputStart, out);
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
