package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model with sliding-window layers (Gemma's local attention, a 6-key window here) served like any other: requests far
 * longer than the window, prefilled in 16-token chunks over 4-token blocks, batched eight at a time and then again from
 * the prefix cache, get exactly the tokens each gets alone with its whole prompt in one step. A window that started at the
 * wrong key, or that moved with the chunk or the batch instead of with each token's position, would change them.
 */
class SlidingWindowEngineTest {
    @TempDir
    static Path tmp;
    static TinyF32Model tiny;

    @BeforeAll
    static void load() throws Exception {
        tiny = TinyF32Model.writeGemma(tmp, 6);
    }

    @AfterAll
    static void close() {
        if (tiny != null) tiny.close();
    }

    @Test
    void batchedChunkedAndCachedRequestsGetTheTokensTheyGetAlone() throws Exception {
        SplittableRandom r = new SplittableRandom(11);
        List<GenerationRequest> reqs = new ArrayList<>();
        int[] shared = tiny.randomIds(99, 20); // a common prefix for half of them: prefix-cache hits past the window
        for (int i = 0; i < 24; i++) {
            int[] own = tiny.randomIds(100 + i, 3 + r.nextInt(60));
            int[] p = own;
            if (i % 2 == 0) {
                p = new int[shared.length + own.length];
                System.arraycopy(shared, 0, p, 0, shared.length);
                System.arraycopy(own, 0, p, shared.length, own.length);
            }
            reqs.add(new GenerationRequest(p, SamplingParams.GREEDY, 8 + r.nextInt(20), Set.of(), true));
        }
        List<int[]> want = new ArrayList<>();
        try (Engine e = new Engine(tiny.model(), EngineServingTest.config(1024, 16, 512, 1, 64, false))) {
            for (GenerationRequest q : reqs) want.add(e.submit(q).await().tokens());
        }
        try (Engine e = new Engine(tiny.model(), EngineServingTest.config(2048, 4, 16, 8, 64, true))) {
            for (int wave = 0; wave < 2; wave++) { // the second wave reads its prompts from the prefix cache
                List<GenerationHandle> got = reqs.stream().map(e::submit).toList();
                for (int i = 0; i < reqs.size(); i++) {
                    assertThat(got.get(i).await().tokens()).as("wave %d, request %d (prompt %d tokens)", wave, i, reqs.get(i).prompt().length)
                            .containsExactly(want.get(i));
                }
            }
            assertThat(e.stats().prefixHitTokens()).isPositive();
            assertThat(e.usedBlocks()).isZero();
        }
    }
}
