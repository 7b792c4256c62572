package org.redhare.text.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Schema patterns as automata, against java.util.regex as the oracle (JSON Schema patterns match anywhere: find()). */
class CharAutomatonTest {
    /** Whether the whole string takes the automaton to an accepting state, a character at a time. */
    static boolean matches(CharAutomaton a, String s) {
        long[] states = a.start();
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            states = a.step(states, cp);
            if (states == null) {
                return false;
            }
        }
        return a.accepts(states);
    }

    @Test
    void randomStringsMatchAsTheJdkRegexFindsThem() {
        String[] patterns = {"^\\d{4}-\\d{2}$", "ab+c", "^(a|bc)*$", "[a-c]{2,3}x?$", "^[^0-9]+$", "colou?r", "^\\w+@\\w+\\.com$",
            "^[\\d.]+$", "^(?:x|y){1,2}z$", "^.{3}$", "[\\D]", "^a{2,}?b$", "^[a-c-]+$", "x|^y", "^\\d+$|^auto$", "^\\s*$", "^[\\w-]{1,4}$", "(ab){2}",
            "^\\u0061\\x62$", "^[^\\d\\s]+$", "é+"};
        String alphabet = "abcxyz0129.-@ é\t";
        Random rnd = new Random(7);
        for (String p : patterns) {
            CharAutomaton a = CharAutomaton.compile(p);
            java.util.regex.Pattern jdk = java.util.regex.Pattern.compile(p);
            for (int k = 0; k < 3000; k++) {
                StringBuilder sb = new StringBuilder();
                int n = rnd.nextInt(9);
                for (int j = 0; j < n; j++) {
                    sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
                }
                String s = sb.toString();
                assertThat(matches(a, s)).as("/%s/ on \"%s\"", p, s).isEqualTo(jdk.matcher(s).find());
            }
        }
        assertThat(matches(CharAutomaton.compile("^\\d{4}-\\d{2}$"), "2026-12")).isTrue();
        assertThat(matches(CharAutomaton.compile("^[\\d.]+$"), "1.2.3")).isTrue();
    }

    @Test
    void whatCannotBeFollowedCharacterByCharacterIsRefused() {
        assertThatThrownBy(() -> CharAutomaton.compile("(a)\\1")).hasMessageContaining("backreferences");
        assertThatThrownBy(() -> CharAutomaton.compile("a(?=b)")).hasMessageContaining("lookaround");
        assertThatThrownBy(() -> CharAutomaton.compile("\\bword")).hasMessageContaining("word boundaries");
        assertThatThrownBy(() -> CharAutomaton.compile("(ab")).hasMessageContaining("without ')'");
        assertThatThrownBy(() -> CharAutomaton.compile("[ab")).hasMessageContaining("without ']'");
        assertThatThrownBy(() -> CharAutomaton.compile("*a")).hasMessageContaining("nothing before it");
        assertThatThrownBy(() -> CharAutomaton.compile("(a{1,1000}){1,1000}")).hasMessageContaining("automaton states");
    }
}
