package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.testing.SharedFiles;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.ModelLoader;

/**
 * Serving many users on a real fixture (qwen2-tiny): batching, preemption, prefix reuse and
 * cancellation must not change any request's tokens; logprobs match a direct forward pass; the queue
 * bound refuses cleanly. Scheduler states are reached with a manually stepped engine, never with timing.
 */
class EngineServingTest {
    static Parallel pool;
    static CausalLM model;
    static Path dir;

    @BeforeAll
    static void load() {
        dir = SharedFiles.require("fixtures/qwen2-tiny");
        pool = new Parallel(2);
        model = ModelLoader.load(dir, pool);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (pool != null) pool.close();
    }

    static int[] randomPrompt(long seed, int length) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 3 + r.nextInt(2045);
        }
        return p;
    }

    static GenerationRequest greedy(int[] prompt, int max) {
        return new GenerationRequest(prompt, SamplingParams.GREEDY, max, Set.of(), true);
    }

    static EngineConfig config(int kvTokens, int blockSize, int batchTokens, int maxRunning, int maxWaiting, boolean prefix) {
        return new EngineConfig(256, kvTokens, KvDtype.F32, blockSize, batchTokens, maxRunning, false, maxWaiting, prefix);
    }

    /** Each request run by itself: one sequence at a time, no prefix reuse. */
    static List<int[]> alone(List<GenerationRequest> requests) throws InterruptedException {
        List<int[]> out = new ArrayList<>();
        try (Engine e = new Engine(model, config(512, 16, 512, 1, 1024, false))) {
            for (GenerationRequest r : requests) {
                out.add(e.submit(r).await().tokens());
            }
        }
        return out;
    }

    /** Steps a manual engine until every handle has finished; returns each handle's events. */
    static List<List<GenerationEvent>> drive(Engine engine, List<GenerationHandle> handles) {
        List<List<GenerationEvent>> events = new ArrayList<>();
        handles.forEach(h -> events.add(new ArrayList<>()));
        for (int guard = 0; guard < 10_000; guard++) {
            boolean done = true;
            for (int i = 0; i < handles.size(); i++) {
                collect(handles.get(i), events.get(i));
                List<GenerationEvent> ev = events.get(i);
                done &= !ev.isEmpty() && ev.getLast() instanceof GenerationEvent.Finished;
            }
            if (done) {
                return events;
            }
            engine.stepOnce();
        }
        throw new AssertionError("the engine did not finish the requests");
    }

    static void collect(GenerationHandle h, List<GenerationEvent> into) {
        try {
            GenerationEvent e;
            while ((e = h.poll(0, TimeUnit.MILLISECONDS)) != null) {
                into.add(e);
            }
        } catch (InterruptedException ex) {
            throw new AssertionError(ex);
        }
    }

    static int[] tokens(List<GenerationEvent> events) {
        return events.stream().filter(e -> e instanceof GenerationEvent.Token).mapToInt(e -> ((GenerationEvent.Token) e).id()).toArray();
    }

    static GenerationEvent.Finished finished(List<GenerationEvent> events) {
        return (GenerationEvent.Finished) events.getLast();
    }

    @Test
    void thirtyTwoConcurrentMixedRequestsGetExactlyTheirSoloTokens() throws Exception {
        SplittableRandom r = new SplittableRandom(7);
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            int[] prompt = randomPrompt(100 + i, 1 + r.nextInt(90));
            int max = 1 + r.nextInt(24);
            // every third samples top-k with its own seed: alone, its logits go through the screened LM head (only the k
            // largest exact), in a batch through the exact head; the draws must not differ
            requests.add(i % 3 == 0
                    ? new GenerationRequest(prompt, new SamplingParams(0.9f, 40, 0.95f, 0.02f, 1f, 0f, 0f, 1000L + i), max, Set.of(), true)
                    : greedy(prompt, max));
        }
        List<int[]> expected = alone(requests);
        // A 64-token budget mixes decode tokens with prefill chunks of several prompts in one step.
        try (Engine engine = new Engine(model, config(32 * 128, 16, 64, 32, 1024, true))) {
            List<GenerationHandle> handles = requests.stream().map(engine::submit).toList();
            for (int i = 0; i < handles.size(); i++) {
                GenerationHandle.Result res = handles.get(i).await();
                assertThat(res.tokens()).as("request %d (prompt %d tokens)", i, requests.get(i).prompt().length).containsExactly(expected.get(i));
                assertThat(res.finished().reason()).isEqualTo(FinishReason.LENGTH);
            }
            assertThat(engine.usedBlocks()).isZero();
            assertThat(engine.stats().finished(FinishReason.LENGTH)).isEqualTo(32);
            assertThat(engine.stats().generatedTokens()).isEqualTo(requests.stream().mapToInt(GenerationRequest::maxTokens).sum());
            assertThat(engine.stats().promptTokens()).isEqualTo(requests.stream().mapToInt(q -> q.prompt().length).sum());
        }
    }

    /**
     * Requests that reach an idle engine a little apart (a burst, spread by parsing) share their first step instead of
     * the first one running alone. The one test here that depends on time: when the submitting thread stalls past the
     * gap the engine waits (a loaded machine), it is skipped rather than failed.
     */
    @Test
    void aBurstReachingAnIdleEngineStartsInOneStep() throws Exception {
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            requests.add(greedy(randomPrompt(900 + i, 9 + 5 * i), 1));
        }
        List<int[]> expected = alone(requests);
        try (Engine engine = new Engine(model, config(512, 16, 512, 8, 64, false))) {
            List<GenerationHandle> handles = new ArrayList<>();
            long widest = 0, last = 0;
            for (GenerationRequest r : requests) {
                if (!handles.isEmpty()) {
                    Thread.sleep(1);
                }
                long now = System.nanoTime();
                if (last != 0) widest = Math.max(widest, now - last);
                last = now;
                handles.add(engine.submit(r));
            }
            org.junit.jupiter.api.Assumptions.assumeTrue(widest < Engine.BURST_GAP_NANOS * 3 / 5,
                    "the submitting thread stalled " + widest / 1_000_000.0 + " ms between requests");
            for (int i = 0; i < handles.size(); i++) {
                assertThat(handles.get(i).await().tokens()).as("request %d", i).containsExactly(expected.get(i));
            }
            assertThat(engine.stats().steps()).as("steps for four one-token requests sent 1 ms apart").isEqualTo(1);
        }
    }

    @Test
    void aPoolTooSmallForAllPreemptsAndStillCompletesEveryRequestIdentically() throws Exception {
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            requests.add(greedy(randomPrompt(300 + i, 5 + 7 * i % 50), 8 + i % 12));
        }
        List<int[]> expected = alone(requests);
        // 20 blocks of 8 tokens: the longest request needs 9 blocks, all of them together far more.
        try (Engine engine = new Engine(model, config(160, 8, 48, 16, 1024, false))) {
            List<GenerationHandle> handles = requests.stream().map(engine::submit).toList();
            for (int i = 0; i < handles.size(); i++) {
                assertThat(handles.get(i).await().tokens()).as("request %d", i).containsExactly(expected.get(i));
            }
            assertThat(engine.stats().preemptions()).isPositive();
            assertThat(engine.usedBlocks()).isZero();
        }
    }

    @Test
    void cancellingMidStreamFreesTheBlocksWithinOneStep() throws Exception {
        try (Engine engine = Engine.manual(model, config(512, 8, 64, 4, 16, false))) {
            GenerationHandle keep = engine.submit(greedy(randomPrompt(1, 20), 30));
            GenerationHandle gone = engine.submit(greedy(randomPrompt(2, 30), 100));
            List<GenerationEvent> seen = new ArrayList<>();
            while (seen.size() < 3) {
                engine.stepOnce();
                collect(gone, seen);
            }
            int before = engine.usedBlocks();
            assertThat(before).isEqualTo(3 + 4); // keys/values of 22 and 32 tokens in 8-token blocks
            gone.cancel();
            engine.stepOnce();
            collect(gone, seen);
            assertThat(seen.getLast()).isInstanceOfSatisfying(GenerationEvent.Finished.class,
                    f -> assertThat(f.reason()).isEqualTo(FinishReason.CANCELLED));
            assertThat(engine.usedBlocks()).isEqualTo(3); // only the other request's blocks remain
            assertThat(engine.stats().finished(FinishReason.CANCELLED)).isEqualTo(1);
            List<List<GenerationEvent>> rest = drive(engine, List.of(keep));
            assertThat(tokens(rest.getFirst())).containsExactly(alone(List.of(greedy(randomPrompt(1, 20), 30))).getFirst());
            assertThat(engine.usedBlocks()).isZero();
        }
        // The same on the engine's own thread: the block count has dropped by the time Finished arrives.
        try (Engine engine = new Engine(model, config(512, 8, 64, 4, 16, false))) {
            GenerationHandle h = engine.submit(greedy(randomPrompt(3, 30), 200));
            assertThat(h.next()).isInstanceOf(GenerationEvent.Token.class);
            h.cancel();
            GenerationEvent.Finished f = h.stream(t -> {});
            assertThat(f.reason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(engine.usedBlocks()).isZero();
        }
    }

    @Test
    void prefixCacheHitsAreCountedAndChangeNothing() throws Exception {
        int[] system = randomPrompt(42, 48); // three 16-token blocks
        List<GenerationRequest> requests = new ArrayList<>();
        requests.add(greedy(randomPrompt(5, 37), 12));
        requests.add(greedy(requests.getFirst().prompt(), 12)); // the same prompt again
        for (int i = 0; i < 4; i++) {
            int[] tail = randomPrompt(600 + i, 3 + 9 * i);
            int[] p = Arrays.copyOf(system, system.length + tail.length);
            System.arraycopy(tail, 0, p, system.length, tail.length);
            requests.add(greedy(p, 10));
        }
        List<int[]> expected = alone(requests);
        try (Engine engine = new Engine(model, config(1024, 16, 512, 8, 64, true))) {
            for (int i = 0; i < requests.size(); i++) {
                long hitsBefore = engine.stats().prefixHitTokens();
                GenerationHandle.Result r = engine.submit(requests.get(i)).await();
                assertThat(r.tokens()).as("request %d", i).containsExactly(expected.get(i));
                long hits = engine.stats().prefixHitTokens() - hitsBefore;
                assertThat(r.finished().usage().cachedPromptTokens()).isEqualTo((int) hits);
                // 37 tokens again: two full blocks reused, the rest (with the last token) computed.
                // A system prompt of three blocks: reused by every request after the first with it.
                int want = switch (i) {
                    case 0, 2 -> 0;
                    case 1 -> 32;
                    default -> 48;
                };
                assertThat(hits).as("hits of request %d", i).isEqualTo(want);
            }
            assertThat(engine.stats().prefixQueriedTokens()).isEqualTo(requests.stream().mapToInt(q -> q.prompt().length).sum());
            assertThat(engine.usedBlocks()).isZero();
            assertThat(engine.stats().kvBlocksCached()).isPositive();
        }
    }

    @Test
    void identicalPromptsShareTheirPrefixBlocks() throws Exception {
        int[] prompt = randomPrompt(77, 40);
        GenerationRequest req = greedy(prompt, 6);
        int[] expected = alone(List.of(req)).getFirst();
        try (Engine engine = Engine.manual(model, config(512, 8, 64, 8, 16, true))) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                handles.add(engine.submit(req));
            }
            engine.stepOnce();
            // The first computes the prompt; the others wait for its blocks rather than compute them too.
            assertThat(engine.stats().running()).isEqualTo(1);
            assertThat(engine.stats().waiting()).isEqualTo(3);
            engine.stepOnce();
            assertThat(engine.stats().running()).isEqualTo(4);
            // 4 of the 5 prompt blocks are shared (the last prompt token is always computed): the first holds
            // 6 blocks (41 tokens), each other 4 shared + 1 own.
            assertThat(engine.stats().prefixHitTokens()).isEqualTo(3 * 32);
            assertThat(engine.usedBlocks()).isEqualTo(6 + 3);
            List<List<GenerationEvent>> events = drive(engine, handles);
            for (List<GenerationEvent> ev : events) {
                assertThat(tokens(ev)).containsExactly(expected);
            }
            assertThat(engine.usedBlocks()).isZero();
        }
    }

    @Test
    void logprobsAreTheRawLogSoftmaxOfADirectForwardPass() throws Exception {
        int[] prompt = FixtureData.promptIds(dir, 1);
        int max = 8;
        int top = 5;
        // A repetition penalty changes which token is sampled but not the reported logprobs.
        for (SamplingParams sp : List.of(SamplingParams.GREEDY, new SamplingParams(0f, 0, 1f, 0f, 1.8f, 0f, 0f, null))) {
            List<GenerationEvent> events = new ArrayList<>();
            try (Engine engine = new Engine(model, config(512, 16, 512, 4, 16, true))) {
                GenerationHandle h = engine.submit(new GenerationRequest(prompt, sp, max, Set.of(), true, top, true));
                GenerationEvent e;
                do {
                    e = h.next();
                    events.add(e);
                } while (!(e instanceof GenerationEvent.Finished));
            }
            assertThat(events.getFirst()).isInstanceOf(GenerationEvent.Prompt.class);
            GenerationEvent.Prompt p = (GenerationEvent.Prompt) events.getFirst();
            int[] generated = tokens(events);
            assertThat(generated).hasSize(max);
            int[] all = Arrays.copyOf(prompt, prompt.length + max);
            System.arraycopy(generated, 0, all, prompt.length, max);
            float[] ref = directLogits(all);
            int vocab = model.vocabSize();

            assertThat(p.logprobs()).hasSize(prompt.length);
            assertThat(p.logprobs()[0]).isNaN();
            assertThat(p.top().getFirst()).isEmpty();
            float[] golden = FixtureData.referenceLogits(dir, 1, prompt.length, vocab);
            for (int i = 1; i < prompt.length; i++) {
                assertThat((double) p.logprobs()[i]).as("prompt position %d", i)
                        .isCloseTo(Scorer.logSoftmaxAt(ref, (i - 1) * vocab, vocab, prompt[i]), within(1e-4));
                assertThat((double) p.logprobs()[i]).as("prompt position %d vs the reference logits", i)
                        .isCloseTo(Scorer.logSoftmaxAt(golden, (i - 1) * vocab, vocab, prompt[i]), within(2e-2));
                checkTop(p.top().get(i), ref, (i - 1) * vocab, vocab, top);
            }
            List<GenerationEvent.Token> toks = events.stream().filter(x -> x instanceof GenerationEvent.Token).map(x -> (GenerationEvent.Token) x).toList();
            for (int k = 0; k < max; k++) {
                int row = (prompt.length - 1 + k) * vocab;
                GenerationEvent.Token t = toks.get(k);
                assertThat((double) t.logprob()).as("token %d", k).isCloseTo(Scorer.logSoftmaxAt(ref, row, vocab, t.id()), within(1e-4));
                checkTop(t.top(), ref, row, vocab, top);
            }
            if (sp.repetitionPenalty() == 1f) {
                for (GenerationEvent.Token t : toks) {
                    assertThat(t.id()).isEqualTo(t.top().getFirst().id()); // greedy takes the most likely
                }
            }
        }
    }

    static void checkTop(List<TokenLogprob> got, float[] logits, int off, int vocab, int k) {
        Integer[] ids = new Integer[vocab];
        for (int i = 0; i < vocab; i++) ids[i] = i;
        Arrays.sort(ids, (a, b) -> Float.compare(logits[off + b], logits[off + a]));
        assertThat(got).hasSize(k);
        for (int j = 0; j < k; j++) {
            assertThat(got.get(j).id()).isEqualTo(ids[j]);
            assertThat((double) got.get(j).logprob()).isCloseTo(Scorer.logSoftmaxAt(logits, off, vocab, ids[j]), within(1e-4));
            if (j > 0) {
                assertThat(got.get(j).logprob()).isLessThanOrEqualTo(got.get(j - 1).logprob());
            }
        }
    }

    /** Logits of every position of {@code tokens} from one plain forward pass of the model. */
    static float[] directLogits(int[] tokens) {
        int bs = 16;
        int blocks = (tokens.length + bs - 1) / bs;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = i;
        float[] logits = new float[tokens.length * model.vocabSize()];
        try (PagedKvCache cache = model.kvLayout().allocate(blocks, bs, KvDtype.F32)) {
            model.forward(ForwardBatch.ofSequence(tokens, 0, table, true), cache, logits);
        }
        return logits;
    }

    @Test
    void aFullQueueRefusesNewRequestsAndServesTheOthers() throws Exception {
        List<GenerationRequest> requests = List.of(greedy(randomPrompt(9, 12), 5), greedy(randomPrompt(10, 30), 7), greedy(randomPrompt(11, 3), 4));
        List<int[]> expected = alone(requests);
        try (Engine engine = Engine.manual(model, config(512, 16, 64, 4, 3, true))) {
            List<GenerationHandle> handles = requests.stream().map(engine::submit).toList();
            assertThat(engine.stats().waiting()).isEqualTo(3);
            assertThatThrownBy(() -> engine.submit(greedy(randomPrompt(12, 5), 3)))
                    .isInstanceOfSatisfying(EngineOverloadedException.class, e -> assertThat(e.retryAfterSeconds()).isBetween(1, 60))
                    .hasMessageContaining("3 requests are already waiting");
            assertThat(engine.stats().rejected()).isEqualTo(1);
            List<List<GenerationEvent>> events = drive(engine, handles);
            for (int i = 0; i < requests.size(); i++) {
                assertThat(tokens(events.get(i))).containsExactly(expected.get(i));
            }
            assertThat(engine.stats().waiting()).isZero();
            GenerationHandle again = engine.submit(requests.getFirst());
            assertThat(tokens(drive(engine, List.of(again)).getFirst())).containsExactly(expected.getFirst());
            assertThat(engine.stats().submitted()).isEqualTo(4);
        }
    }

    @Test
    void requestsThatCanNeverFitAreRefusedWithAClearMessage() {
        try (Engine engine = Engine.manual(model, config(64, 16, 64, 4, 3, true))) {
            // 40 prompt tokens + 30 generated need 69 tokens of KV; the pool holds 64.
            assertThatThrownBy(() -> engine.submit(greedy(randomPrompt(1, 40), 30)))
                    .isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("needs 69 tokens of KV cache").hasMessageContaining("holds only 64").hasMessageContaining("lower max tokens");
            engine.submit(greedy(randomPrompt(1, 40), 25)); // 64: fits
            assertThatThrownBy(() -> engine.submit(greedy(randomPrompt(1, 256), 1)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("context holds 256");
            assertThatThrownBy(() -> new GenerationRequest(new int[] {1}, SamplingParams.GREEDY, 1, Set.of(), true, 21, false))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("top logprobs");
        }
    }

    /** Reads the fixture's reference files. */
    static final class FixtureData {
        static int[] promptIds(Path dir, int n) throws IOException {
            String s = Files.readString(dir.resolve("reference/prompt_p" + n + ".json"));
            return Arrays.stream(s.replaceAll("[^0-9,]", " ").split(",")).map(String::trim).filter(x -> !x.isEmpty())
                    .mapToInt(Integer::parseInt).toArray();
        }

        static float[] referenceLogits(Path dir, int n, int len, int vocab) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("reference/logits_p" + n + ".f32"))).order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[len * vocab];
            b.asFloatBuffer().get(out);
            return out;
        }
    }
}
