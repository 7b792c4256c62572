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

    /** Each request's tokens with their logprobs and alternatives, as the stream gives them. */
    static List<List<GenerationEvent.Token>> streamed(Engine e, List<GenerationRequest> reqs) throws InterruptedException {
        List<GenerationHandle> handles = reqs.stream().map(e::submit).toList();
        List<List<GenerationEvent.Token>> out = new ArrayList<>();
        for (GenerationHandle h : handles) {
            List<GenerationEvent.Token> tokens = new ArrayList<>();
            assertThat(h.stream(tokens::add).reason()).isNotEqualTo(FinishReason.ERROR);
            out.add(tokens);
        }
        return out;
    }

    /** One request of each kind; new ones each call, since a constraint holds its sequence's state. */
    static List<GenerationRequest> kinds() {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] p = prompt(3 + i, 30, true);
            reqs.add(switch (i) {
                // seeded sampling (cold enough that the random model's text loops as its greedy text does): one draw of the
                // random stream per token kept, drafting or not
                case 0 -> new GenerationRequest(p, new SamplingParams(0.002f, 5, 1f, 0f, 1f, 0f, 0f, 7L), 48, Set.of(), true);
                case 1 -> new GenerationRequest(p, new SamplingParams(0.002f, 0, 0.95f, 0.01f, 1f, 0f, 0f, 11L), 48, Set.of(), true);
                // logprobs and alternatives: every row's logits have the bits of decoding one at a time
                case 2 -> new GenerationRequest(p, SamplingParams.GREEDY, 48, Set.of(), true, 3, false, true);
                // penalties see the tokens kept before each row; a constraint is told each token kept, in order, and here
                // refuses most drawn tokens (a redraw among the allowed ones)
                case 3 -> new GenerationRequest(p, new SamplingParams(0f, 0, 1f, 0f, 1.1f, 0.2f, 0.1f, null), 48, Set.of(), true, 0,
                        false, false, new Cycle(5, 9, 2, 7, 5, 3));
                case 4 -> new GenerationRequest(p, SamplingParams.GREEDY, 48, Set.of(), true, 0, false, false,
                        new ConstrainedDecodingTest.Only(t -> t % 3 != 0, 1000));
                // warm sampling with logprobs under a constraint: two draws for a refused one, in the same order
                default -> new GenerationRequest(p, new SamplingParams(0.8f, 0, 1f, 0f, 1f, 0f, 0f, 5L), 48, Set.of(), true, 2, false, true,
                        new Cycle(4, 8, 1, 4, 6));
            });
        }
        return reqs;
    }

    @Test
    void sampledPenalisedConstrainedAndLogprobRequestsDraftAndKeepTheirTokens() throws Exception {
        List<GenerationRequest> reqs = kinds();
        List<List<GenerationEvent.Token>> want;
        try (Engine e = new Engine(model, EngineServingTest.config(1024, 16, 512, 1, 64, false))) {
            want = streamed(e, reqs);
        }
        for (int maxRunning : new int[] {1, 2}) {
            try (Engine e = new Engine(model, EngineServingTest.config(1024, 16, 512, maxRunning, 64, false).withDraftTokens(6))) {
                List<List<GenerationEvent.Token>> got = streamed(e, kinds());
                for (int i = 0; i < reqs.size(); i++) {
                    assertThat(got.get(i)).as("request %d, %d running", i, maxRunning).containsExactlyElementsOf(want.get(i));
                }
                assertThat(e.stats().draftTokens()).as("%d running", maxRunning).isPositive();
                assertThat(e.stats().draftAccepted()).as("%d running", maxRunning).isPositive();
                assertThat(e.usedBlocks()).isZero();
            }
        }
        for (int i = 0; i < reqs.size(); i++) { // each kind drafts by itself, not only next to the greedy ones
            try (Engine e = new Engine(model, EngineServingTest.config(1024, 16, 512, 1, 64, false).withDraftTokens(6))) {
                assertThat(streamed(e, List.of(kinds().get(i))).get(0)).as("request %d alone", i).containsExactlyElementsOf(want.get(i));
                assertThat(e.stats().draftAccepted()).as("request %d alone", i).isPositive();
            }
        }
    }

    /** Allows only the next token of a cycle: the text repeats whatever the model's draws, so drafts are made and kept. */
    static final class Cycle implements TokenConstraint {
        final int[] cycle;
        int taken;

        Cycle(int... cycle) {
            this.cycle = cycle;
        }

        @Override public boolean allows(int token) {
            return token == cycle[taken % cycle.length];
        }

        @Override public void accept(int token) {
            assertThat(allows(token)).isTrue();
            taken++;
        }

        @Override public boolean complete() {
            return false;
        }
    }
}
