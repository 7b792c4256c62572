package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.attention.KvDtype;
import org.redhare.model.CausalLM;

/**
 * Drafting (prompt lookup decoding) must not change a single token: greedy sequences that guess their next tokens from
 * their own text get exactly the tokens of decoding one at a time, whether the guesses are confirmed or refused, alone or
 * two at a time, with stop tokens inside a draft, under preemption and with the prefix cache. The random-weight model's
 * greedy text falls into loops, which is where drafts are confirmed, so the drafting path is exercised for real.
 */
class DraftingTest {
    @TempDir
    static Path tmp;
    static TinyF32Model tiny;
    static CausalLM model;

    @BeforeAll
    static void load() throws Exception {
        tiny = TinyF32Model.write(tmp);
        model = tiny.model();
    }

    @AfterAll
    static void close() {
        if (tiny != null) tiny.close();
    }

    static int[] prompt(long seed, int length, boolean repeated) {
        int[] p = tiny.randomIds(seed, length);
        if (repeated) { // a prompt that repeats itself: its last tokens occurred before, so the first steps draft
            for (int i = length / 2; i < length; i++) p[i] = p[i - length / 2];
        }
        return p;
    }

    static List<GenerationRequest> requests(Set<Integer> stops) {
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            out.add(new GenerationRequest(prompt(40 + i, 6 + 5 * i, i % 2 == 0), SamplingParams.GREEDY, 20 + 9 * i, stops, stops.isEmpty()));
        }
        return out;
    }

    /** Each request run alone, one token a step. */
    static List<GenerationHandle.Result> oneAtATime(List<GenerationRequest> reqs) throws InterruptedException {
        List<GenerationHandle.Result> out = new ArrayList<>();
        try (Engine e = new Engine(model, EngineServingTest.config(1024, 16, 512, 1, 64, false))) {
            for (GenerationRequest q : reqs) out.add(e.submit(q).await());
        }
        return out;
    }

    static void assertSame(List<GenerationHandle.Result> want, List<GenerationHandle> got) throws InterruptedException {
        for (int i = 0; i < want.size(); i++) {
            GenerationHandle.Result r = got.get(i).await();
            assertThat(r.tokens()).as("request %d", i).containsExactly(want.get(i).tokens());
            assertThat(r.finished().reason()).as("request %d", i).isEqualTo(want.get(i).finished().reason());
        }
    }

    @Test
    void draftsGiveTheTokensOfDecodingOneAtATime() throws Exception {
        List<GenerationRequest> reqs = requests(Set.of());
        List<GenerationHandle.Result> want = oneAtATime(reqs);
        for (int maxRunning : new int[] {1, 2, 4}) { // up to two decoding sequences draft; four do not
            EngineConfig cfg = EngineServingTest.config(1024, 16, 512, maxRunning, 64, true).withDraftTokens(6);
            try (Engine e = new Engine(model, cfg)) {
                List<GenerationHandle> got = reqs.stream().map(e::submit).toList();
                assertSame(want, got);
                assertThat(e.usedBlocks()).isZero();
                assertThat(e.stats().draftTokens()).as("drafted with %d running", maxRunning).isPositive();
                assertThat(e.stats().draftAccepted()).as("confirmed with %d running", maxRunning).isPositive()
                        .isLessThanOrEqualTo(e.stats().draftTokens());
                long tokens = want.stream().mapToLong(w -> w.tokens().length).sum();
                assertThat(e.stats().generatedTokens()).isEqualTo(tokens);
            }
        }
    }

    @Test
    void aStopTokenInsideADraftEndsTheSequenceThere() throws Exception {
        // the loops' tokens as stop tokens: generations end inside what a draft would have covered
        List<GenerationHandle.Result> free = oneAtATime(requests(Set.of()));
        Set<Integer> stops = Set.of(free.get(0).tokens()[12], free.get(2).tokens()[15]);
        List<GenerationRequest> reqs = requests(stops);
        List<GenerationHandle.Result> want = oneAtATime(reqs);
        assertThat(want.stream().filter(w -> w.finished().reason() == FinishReason.STOP).count()).isPositive();
        try (Engine e = new Engine(model, EngineServingTest.config(1024, 16, 512, 1, 64, false).withDraftTokens(8))) {
            assertSame(want, reqs.stream().map(e::submit).toList());
            assertThat(e.stats().draftAccepted()).isPositive();
        }
    }

    @Test
    void preemptionAndThePrefixCacheKeepTheTokens() throws Exception {
        List<GenerationRequest> reqs = requests(Set.of());
        List<GenerationHandle.Result> want = oneAtATime(reqs);
        // 20 blocks of 8 tokens for two running sequences of up to 152 tokens: drafts and decodes preempt each other
        try (Engine e = new Engine(model, new EngineConfig(256, 160, KvDtype.F32, 8, 64, 2, false, 64, true, 6))) {
            assertSame(want, reqs.stream().map(e::submit).toList());
            assertThat(e.stats().preemptions()).isPositive();
            assertThat(e.usedBlocks()).isZero();
            // the same requests again: prompts (and the text written before) come from the prefix cache
            assertSame(want, reqs.stream().map(e::submit).toList());
        }
    }

    @Test
    void onlyPlainGreedyRequestsDraft() throws Exception {
        int[] p = prompt(3, 30, true);
        List<GenerationRequest> reqs = List.of(
                new GenerationRequest(p, new SamplingParams(0.8f, 40, 1f, 0f, 1f, 0f, 0f, 7L), 40, Set.of(), true),
                new GenerationRequest(p, SamplingParams.GREEDY, 40, Set.of(), true, 2, false),       // logprobs
                new GenerationRequest(p, new SamplingParams(0f, 0, 1f, 0f, 1.1f, 0f, 0f, null), 40, Set.of(), true)); // penalty
        List<GenerationHandle.Result> want = oneAtATime(reqs);
        try (Engine e = new Engine(model, EngineServingTest.config(1024, 16, 512, 1, 64, false).withDraftTokens(6))) {
            assertSame(want, reqs.stream().map(e::submit).toList());
            assertThat(e.stats().draftTokens()).isZero();
        }
    }
}
