package org.redhare.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The pool's loops: every item exactly once, chunks of the promised sizes and alignment, failures rethrown. */
class ParallelTest {

    @ParameterizedTest(name = "{0} threads, n={1}, grain={2}, align={3}")
    @CsvSource({"2, 1000, 64, 1", "2, 1000, 60, 5", "3, 997, 100, 4", "2, 37, 8, 2", "4, 10000, 1000, 7", "2, 5, 1, 1", "2, 100, 100, 100"})
    void shrinkingChunksCoverTheRangeOnceAligned(int threads, int n, int grain, int align) {
        try (Parallel pool = new Parallel(threads)) {
            for (int round = 0; round < 20; round++) {
                AtomicIntegerArray seen = new AtomicIntegerArray(n);
                List<int[]> chunks = Collections.synchronizedList(new ArrayList<>());
                pool.forRange(n, grain, align, (s, e, w) -> {
                    chunks.add(new int[] {s, e});
                    for (int i = s; i < e; i++) {
                        seen.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertThat(seen.get(i)).as("item %d", i).isEqualTo(1);
                }
                int g = (grain + align - 1) / align * align;
                for (int[] c : chunks) {
                    assertThat(c[0] % align).as("chunk start %d", c[0]).isZero();
                    assertThat(c[1] - c[0]).isBetween(1, g);
                    if (c[1] < n) {
                        assertThat((c[1] - c[0]) % align).as("a chunk that is not the last is whole units").isZero();
                    }
                }
                if (n > g && align < g) {
                    // the range ends in small chunks: the last one is at most one unit of alignment
                    int[] last = chunks.stream().max((a, b) -> Integer.compare(a[0], b[0])).orElseThrow();
                    assertThat(last[1] - last[0]).isLessThanOrEqualTo(align);
                }
            }
        }
    }

    @Test
    void fixedGrainKeepsEqualChunks() {
        try (Parallel pool = new Parallel(2)) {
            List<int[]> chunks = Collections.synchronizedList(new ArrayList<>());
            pool.forRange(100, 16, (s, e, w) -> chunks.add(new int[] {s, e}));
            assertThat(chunks).hasSize(7);
            assertThat(chunks).allSatisfy(c -> {
                assertThat(c[0] % 16).isZero();
                assertThat(c[1] - c[0]).isEqualTo(c[0] == 96 ? 4 : 16);
            });
        }
    }

    @Test
    void aFailureInAChunkIsRethrown() {
        try (Parallel pool = new Parallel(2)) {
            assertThatThrownBy(() -> pool.forRange(100, 10, 1, (s, e, w) -> {
                if (s <= 50 && 50 < e) throw new IllegalStateException("boom at " + s);
            })).isInstanceOf(IllegalStateException.class).hasMessageStartingWith("boom");
            // and the pool still works afterwards
            AtomicIntegerArray seen = new AtomicIntegerArray(10);
            pool.forRange(10, 2, 1, (s, e, w) -> { for (int i = s; i < e; i++) seen.incrementAndGet(i); });
            for (int i = 0; i < 10; i++) assertThat(seen.get(i)).isEqualTo(1);
        }
    }

    /**
     * A loop asked for from inside one of the pool's jobs (a quantizer reached while a mixture's experts load on every
     * thread) runs whole on the calling thread; outside a job it is an ordinary parallel loop. A nested forRange here
     * would reset the running job's counters.
     */
    @Test
    void aLoopInsideAJobRunsOnItsCallerAndOneOutsideSpreads() {
        try (Parallel pool = new Parallel(3)) {
            for (int round = 0; round < 20; round++) {
                int outer = 12;
                int inner = 500;
                AtomicIntegerArray seen = new AtomicIntegerArray(outer * inner);
                List<String> strays = Collections.synchronizedList(new ArrayList<>());
                pool.forRange(outer, 1, (s, e, w) -> {
                    Thread caller = Thread.currentThread();
                    for (int o = s; o < e; o++) {
                        int base = o * inner;
                        pool.forRangeIfIdle(inner, 7, (a, b, w2) -> {
                            if (Thread.currentThread() != caller || w2 != 0) {
                                strays.add(Thread.currentThread().getName() + " as worker " + w2);
                            }
                            for (int i = a; i < b; i++) {
                                seen.incrementAndGet(base + i);
                            }
                        });
                    }
                });
                assertThat(strays).isEmpty();
                for (int i = 0; i < outer * inner; i++) {
                    assertThat(seen.get(i)).as("item %d", i).isEqualTo(1);
                }
            }
            AtomicIntegerArray seen = new AtomicIntegerArray(10_000);
            List<Integer> chunks = Collections.synchronizedList(new ArrayList<>());
            pool.forRangeIfIdle(10_000, 100, (a, b, w) -> {
                chunks.add(b - a);
                for (int i = a; i < b; i++) {
                    seen.incrementAndGet(i);
                }
            });
            for (int i = 0; i < 10_000; i++) {
                assertThat(seen.get(i)).isEqualTo(1);
            }
            assertThat(chunks).as("outside a job: the pool's chunks").allMatch(c -> c <= 100).hasSizeGreaterThanOrEqualTo(100);
        }
    }
}
