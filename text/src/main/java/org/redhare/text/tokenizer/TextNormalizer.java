package org.redhare.text.tokenizer;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** Hugging Face normalizers (the ones real LLM tokenizers use). */
public interface TextNormalizer {
    String normalize(String text);

    record UnicodeForm(Normalizer.Form form) implements TextNormalizer {
        @Override
        public String normalize(String text) {
            return Normalizer.isNormalized(text, form) ? text : Normalizer.normalize(text, form);
        }
    }

    record Lowercase() implements TextNormalizer {
        @Override
        public String normalize(String text) {
            return text.toLowerCase(Locale.ROOT);
        }
    }

    /** Prepends only to non-empty text, like Hugging Face. */
    record Prepend(String prefix) implements TextNormalizer {
        @Override
        public String normalize(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    record ReplaceString(String pattern, String content) implements TextNormalizer {
        @Override
        public String normalize(String text) {
            return text.replace(pattern, content);
        }
    }

    record ReplaceRegex(Pattern pattern, String content) implements TextNormalizer {
        @Override
        public String normalize(String text) {
            return pattern.matcher(text).replaceAll(java.util.regex.Matcher.quoteReplacement(content));
        }
    }

    record Strip(boolean left, boolean right) implements TextNormalizer {
        @Override
        public String normalize(String text) {
            int s = 0;
            int e = text.length();
            while (left && s < e && Character.isWhitespace(text.codePointAt(s))) s += Character.charCount(text.codePointAt(s));
            while (right && e > s && Character.isWhitespace(text.codePointBefore(e))) e -= Character.charCount(text.codePointBefore(e));
            return text.substring(s, e);
        }
    }

    record Sequence(List<TextNormalizer> steps) implements TextNormalizer {
        @Override
        public String normalize(String text) {
            for (TextNormalizer n : steps) {
                text = n.normalize(text);
            }
            return text;
        }
    }
}
