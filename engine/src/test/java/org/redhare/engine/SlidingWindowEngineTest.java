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
        // Again with the window layers' blocks in a pool of their own, given back behind each sequence's window: the same
        // tokens, the prefix cache's hits included (a hit takes the window blocks its first query reads, or fewer blocks).
        EngineConfig apart = EngineServingTest.config(2048, 4, 16, 8, 64, true).withWindowPool(tiny.model().kvLayout());
        assertThat(apart.windowKvBlocks()).isPositive().isLessThan(apart.kvBlocks());
        try (Engine e = new Engine(tiny.model(), apart)) {
            assertThat(e.stats().windowBlocksTotal()).isEqualTo(apart.windowKvBlocks());
            for (int wave = 0; wave < 2; wave++) {
                List<GenerationHandle> got = reqs.stream().map(e::submit).toList();
                for (int i = 0; i < reqs.size(); i++) {
                    assertThat(got.get(i).await().tokens()).as("window pool, wave %d, request %d", wave, i).containsExactly(want.get(i));
                }
            }
            assertThat(e.stats().prefixHitTokens()).isPositive();
            assertThat(e.usedBlocks()).isZero();
            assertThat(e.stats().windowBlocksUsed()).isZero();
        }
        // And with drafting: draft tokens' keys are written past the window blocks kept, and refused ones overwritten.
        // Prompts that end as they began, so that the first steps draft what followed their first tokens.
        List<GenerationRequest> echoes = new ArrayList<>();
        List<int[]> wantEchoes = new ArrayList<>();
        try (Engine e = new Engine(tiny.model(), EngineServingTest.config(1024, 16, 512, 1, 64, false))) {
            for (GenerationRequest q : reqs) {
                int[] p = java.util.Arrays.copyOf(q.prompt(), q.prompt().length + 3);
                System.arraycopy(q.prompt(), 0, p, q.prompt().length, 3);
                GenerationRequest echo = new GenerationRequest(p, SamplingParams.GREEDY, q.maxTokens(), Set.of(), true);
                echoes.add(echo);
                wantEchoes.add(e.submit(echo).await().tokens());
            }
        }
        EngineConfig drafting = EngineServingTest.config(2048, 4, 16, 2, 64, true).withWindowPool(tiny.model().kvLayout()).withDraftTokens(4);
        try (Engine e = new Engine(tiny.model(), drafting)) {
            for (int i = 0; i < echoes.size(); i++) { // one at a time: sequences draft while at most two decode
                assertThat(e.submit(echoes.get(i)).await().tokens()).as("window pool, drafting, request %d", i).containsExactly(wantEchoes.get(i));
            }
            assertThat(e.stats().draftTokens()).isPositive();
            assertThat(e.stats().windowBlocksUsed()).isZero();
        }
    }

    /**
     * One long request, stepped: the window layers hold the blocks of its window (and of the chunk being read) at every
     * step while the other layers' blocks grow with the text; its tokens are those of the one pool. Where the window pool
     * is smaller than its running sequences' windows and a step need, the engine refuses it.
     */
    @Test
    void windowLayersHoldAWindowOfBlocksWhileTheOthersGrow() throws Exception {
        GenerationRequest longOne = new GenerationRequest(tiny.randomIds(7, 90), SamplingParams.GREEDY, 60, Set.of(), true);
        int[] want;
        try (Engine e = new Engine(tiny.model(), EngineServingTest.config(1024, 4, 16, 1, 64, false))) {
            want = e.submit(longOne).await().tokens();
        }
        EngineConfig apart = EngineServingTest.config(1024, 4, 16, 4, 64, false).withWindowPool(tiny.model().kvLayout());
        try (Engine e = Engine.manual(tiny.model(), apart)) {
            GenerationHandle h = e.submit(longOne);
            List<Integer> got = new ArrayList<>();
            int mostWindow = 0, steps = 0;
            GenerationEvent.Finished end = null;
            while (end == null) {
                e.stepOnce();
                steps++;
                // a 6-key window: the 5 keys before the next query and a 16-token chunk span at most 7 blocks of 4
                assertThat(e.stats().windowBlocksUsed()).as("step %d", steps).isLessThanOrEqualTo(e.usedBlocks()).isBetween(0, 7);
                mostWindow = Math.max(mostWindow, e.stats().windowBlocksUsed());
                for (GenerationEvent ev; (ev = h.poll(0, java.util.concurrent.TimeUnit.SECONDS)) != null; ) {
                    if (ev instanceof GenerationEvent.Token t) got.add(t.id());
                    if (ev instanceof GenerationEvent.Finished f) end = f;
                }
                if (e.usedBlocks() > 0) {
                    assertThat(e.usedBlocks()).as("step %d", steps).isGreaterThan(e.stats().windowBlocksUsed());
                }
            }
            assertThat(got).containsExactly(java.util.Arrays.stream(want).boxed().toArray(Integer[]::new));
            assertThat(mostWindow).isGreaterThanOrEqualTo(2);
            assertThat(e.stats().windowBlocksUsed()).isZero();
            assertThat(e.usedBlocks()).isZero();
        }
        // A pool smaller than the running sequences' windows and a step need is refused (it could fill with the blocks of
        // sequences that all wait for more); at that size, eight requests at once get their tokens.
        long least = EngineConfig.windowPoolTokens(6, 4, 16, 8);
        assertThat(least).isEqualTo((8 * 9 + 4) * 4);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Engine(tiny.model(),
                        new EngineConfig(256, 1024, org.redhare.core.attention.KvDtype.F32, 4, 16, 8, false, 64, true, 0, (int) least - 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sliding-window").hasMessageContaining(least + " that 8");
        SplittableRandom r = new SplittableRandom(5);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            reqs.add(new GenerationRequest(tiny.randomIds(200 + i, 20 + r.nextInt(70)), SamplingParams.GREEDY, 10 + r.nextInt(50), Set.of(), true));
        }
        List<int[]> alone = new ArrayList<>();
        try (Engine e = new Engine(tiny.model(), EngineServingTest.config(1024, 4, 16, 1, 64, false))) {
            for (GenerationRequest q : reqs) alone.add(e.submit(q).await().tokens());
        }
        EngineConfig small = new EngineConfig(256, 1024, org.redhare.core.attention.KvDtype.F32, 4, 16, 8, false, 64, true, 0, (int) least);
        try (Engine e = new Engine(tiny.model(), small)) {
            List<GenerationHandle> got = reqs.stream().map(e::submit).toList();
            for (int i = 0; i < reqs.size(); i++) {
                assertThat(got.get(i).await().tokens()).as("request %d", i).containsExactly(alone.get(i));
            }
            assertThat(e.stats().windowBlocksTotal()).isEqualTo(least / 4);
            assertThat(e.stats().windowBlocksUsed()).isZero();
        }
    }
}
