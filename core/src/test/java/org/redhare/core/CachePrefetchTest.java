package org.redhare.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class CachePrefetchTest {

    /** Whether this JVM runs on x86-64 Linux, told apart from what the classes under test report. */
    static boolean x86Linux() {
        String arch = System.getProperty("os.arch", "");
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux") && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    /** On x86-64 Linux with native access (as the build runs tests) the stub is built; a failure to build it says why. */
    @Test
    void theStubIsBuiltOnX86Linux() {
        assumeTrue(x86Linux(), "prefetching is x86-64 Linux only: " + CachePrefetch.status());
        assumeTrue(NativeMemory.mapped(), "no native calls here: " + NativeMemory.status());
        assertThat(CachePrefetch.available()).as(CachePrefetch.status()).isTrue();
        assertThat(CachePrefetch.status()).startsWith("on");
    }

    /**
     * The stub runs for every shape of request and returns: one line, many rows, strides that are not multiples of a
     * line, and addresses that are not mapped at all (a prefetch never faults), and what it fetched reads back unchanged.
     */
    @Test
    void prefetchingAnyRangeReturnsAndChangesNothing() {
        assumeTrue(CachePrefetch.available(), CachePrefetch.status());
        MemorySegment m = NativeMemory.allocate(NativeMemory.HUGE_PAGE * 2);
        for (long off = 0; off < m.byteSize(); off += 8) {
            m.set(ValueLayout.JAVA_LONG, off, off * 0x9E3779B97F4A7C15L);
        }
        long a = m.address();
        CachePrefetch.rows(a, 1, 1, 0);
        CachePrefetch.rows(a + 3, 64, 1, 0);
        CachePrefetch.rows(a, 1792, 5, 1792L * 1000);
        CachePrefetch.rows(a + 17, 4096, 7, 5000);
        CachePrefetch.rows(a, m.byteSize(), 1, 0);
        CachePrefetch.rows(0, 4096, 5, 4096); // page zero: never mapped
        CachePrefetch.rows(-4096, 128, 2, 64); // kernel space
        CachePrefetch.rows(a, 0, 5, 64);      // nothing to fetch: a no-op
        CachePrefetch.rows(a, 64, 0, 64);
        for (long off = 0; off < m.byteSize(); off += 8) {
            assertThat(m.get(ValueLayout.JAVA_LONG, off)).isEqualTo(off * 0x9E3779B97F4A7C15L);
        }
    }
}
