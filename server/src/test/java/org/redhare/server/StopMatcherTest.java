package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {
    @Test
    void holdsBackAPossibleStopAcrossDeltas() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertThat(m.push("abc E")).isEqualTo("abc ");
        assertThat(m.push("N")).isEmpty();
        assertThat(m.push("X more")).isEqualTo("ENX more"); // it was not the stop after all
        assertThat(m.push("xxEN")).isEqualTo("xx");
        assertThat(m.push("D tail")).isEmpty();
        assertThat(m.stopped()).isTrue();
        assertThat(m.push("after")).isEmpty();
        assertThat(m.flush()).isEmpty();
    }

    @Test
    void earliestOfSeveralStopsWinsAndHeldTextFlushesAtTheEnd() {
        StopMatcher m = new StopMatcher(List.of("world", "lo w"));
        assertThat(m.push("hello wor")).isEqualTo("hel");
        assertThat(m.push("ld")).isEmpty();
        assertThat(m.stopped()).isTrue();

        StopMatcher n = new StopMatcher(List.of("\n\n"));
        assertThat(n.push("line\n")).isEqualTo("line");
        assertThat(n.flush()).isEqualTo("\n");
    }

    @Test
    void noStopsPassesEverythingThrough() {
        StopMatcher m = new StopMatcher(List.of());
        assertThat(m.push("a")).isEqualTo("a");
        assertThat(m.push("")).isEmpty();
        assertThat(m.flush()).isEmpty();
    }
}
