package org.redhare.text.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The Oniguruma → java.util.regex translation keeps Oniguruma's Unicode meaning of \s, \S and (?i). */
class RegexesTest {
    /** Unicode White_Space, which Oniguruma's \s matches. */
    private static final Set<Integer> WHITE_SPACE = Set.of(0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
            0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
            0x2028, 0x2029, 0x202F, 0x205F, 0x3000);

    @Test
    void whitespaceIsUnicodeWhiteSpaceInsideAndOutsideClasses() {
        Pattern s = Regexes.compile("\\s", "test");
        Pattern notS = Regexes.compile("\\S", "test");
        Pattern inClass = Regexes.compile("[^\\s\\p{L}]", "test");
        for (int cp = 0; cp < 0x3100; cp++) {
            String c = Character.toString(cp);
            boolean ws = WHITE_SPACE.contains(cp);
            assertThat(s.matcher(c).matches()).as("\\s on U+%04X", cp).isEqualTo(ws);
            assertThat(notS.matcher(c).matches()).as("\\S on U+%04X", cp).isEqualTo(!ws);
            assertThat(inClass.matcher(c).matches()).as("[^\\s\\p{L}] on U+%04X", cp).isEqualTo(!ws && !Character.isLetter(cp));
        }
    }

    @Test
    void caseInsensitiveGroupsFoldByUnicode() {
        Pattern p = Regexes.compile("(?i:'s|'ll)x", "test");
        assertThat(p.matcher("'Sx").matches()).isTrue();
        assertThat(p.matcher("'\u017Fx").matches()).isTrue(); // long s folds to s
        assertThat(p.matcher("'LLx").matches()).isTrue();
        assertThat(p.matcher("'SX").matches()).isFalse(); // only the group ignores case
    }

    @Test
    void doubleAmpersandInAClassIsLiteral() {
        Pattern p = Regexes.compile("[a&&b]+", "test");
        assertThat(p.matcher("a&&b&").matches()).isTrue();
    }
}
