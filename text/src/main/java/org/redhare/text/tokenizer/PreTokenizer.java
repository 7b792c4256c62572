package org.redhare.text.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Splits normalized text into the pieces ("words") the model encodes one by one. */
public interface PreTokenizer {
    /** Appends the non-empty pieces of text to out, in order. */
    void split(String text, List<String> out);

    /** How a regex split treats the matches (Hugging Face's SplitDelimiterBehavior). */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /** Hugging Face "Split" (and llama.cpp's regex lists, which behave as ISOLATED). */
    record RegexSplit(Pattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(String text, List<String> out) {
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
                        if (s > last) out.add(text.substring(last, s));
                        out.add(text.substring(s, e));
                    }
                    case REMOVED -> {
                        if (s > last) out.add(text.substring(last, s));
                    }
                    case MERGED_WITH_PREVIOUS -> out.add(text.substring(last, e));
                    case MERGED_WITH_NEXT -> {
                        int from = pendingStart >= 0 ? pendingStart : last;
                        if (s > from) out.add(text.substring(from, s));
                        pendingStart = s;
                    }
                    case CONTIGUOUS -> {
                        if (s > last) {
                            if (prevStart >= 0) out.add(text.substring(prevStart, prevMatchEnd));
                            out.add(text.substring(last, s));
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
                if (last < text.length()) out.add(text.substring(last));
                return;
            }
            switch (behavior) {
                case MERGED_WITH_NEXT -> {
                    int from = pendingStart >= 0 ? pendingStart : last;
                    if (from < text.length()) out.add(text.substring(from));
                }
                case CONTIGUOUS -> {
                    if (prevStart >= 0) out.add(text.substring(prevStart, prevMatchEnd));
                    if (last < text.length()) out.add(text.substring(last));
                }
                default -> {
                    if (last < text.length()) out.add(text.substring(last));
                }
            }
        }

        private void emitInverted(String text, int last, int s, int e, List<String> out) {
            // Inverted ISOLATED/REMOVED are the common cases: the gap is the delimiter.
            if (behavior == Behavior.ISOLATED) {
                if (s > last) out.add(text.substring(last, s));
                out.add(text.substring(s, e));
            } else {
                out.add(text.substring(s, e));
            }
        }
    }

    /** Hugging Face "Sequence": each pre-tokenizer splits every piece of the previous one. */
    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(String text, List<String> out) {
            List<String> current = new java.util.ArrayList<>(4);
            current.add(text);
            for (PreTokenizer step : steps) {
                List<String> next = new java.util.ArrayList<>(current.size() * 2);
                for (String piece : current) {
                    step.split(piece, next);
                }
                current = next;
            }
            out.addAll(current);
        }
    }

    /**
     * The splitting half of Hugging Face "ByteLevel": optional prefix space and optional GPT-2 regex.
     * The byte → character mapping itself is done by the byte-level BPE model on UTF-8 bytes.
     */
    record ByteLevelSplit(boolean addPrefixSpace, Pattern regex) implements PreTokenizer {
        @Override
        public void split(String text, List<String> out) {
            if (text.isEmpty()) {
                return;
            }
            String t = addPrefixSpace && text.charAt(0) != ' ' ? " " + text : text;
            if (regex == null) {
                out.add(t);
            } else {
                new RegexSplit(regex, Behavior.ISOLATED, false).split(t, out);
            }
        }
    }

    /** Hugging Face "Metaspace": spaces become the replacement char, optional prefix, split before each one. */
    record Metaspace(char replacement, String prependScheme, boolean splitWords) implements PreTokenizer {
        @Override
        public void split(String text, List<String> out) {
            if (text.isEmpty()) {
                return;
            }
            String t = text.replace(' ', replacement);
            if (!"never".equals(prependScheme) && t.charAt(0) != replacement) {
                // "first" is decided per call: the pipeline only calls with the first segment flag via Prepend.
                t = replacement + t;
            }
            if (!splitWords) {
                out.add(t);
                return;
            }
            int start = 0;
            for (int i = 1; i < t.length(); i++) {
                if (t.charAt(i) == replacement) {
                    out.add(t.substring(start, i));
                    start = i;
                }
            }
            out.add(t.substring(start));
        }
    }

    /** Hugging Face "Digits": digits split from the rest, one by one when individual. */
    record Digits(boolean individual) implements PreTokenizer {
        private static final Pattern ONE = Pattern.compile("\\p{Nd}");
        private static final Pattern RUN = Pattern.compile("\\p{Nd}+");

        @Override
        public void split(String text, List<String> out) {
            new RegexSplit(individual ? ONE : RUN, Behavior.ISOLATED, false).split(text, out);
        }
    }
}
