package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.testing.SharedFiles;
import org.redhare.model.CausalLM;
import org.redhare.model.ModelLoader;

/** The engine (scheduler, paged cache, sampler) on a real fixture against its reference greedy continuations. */
class EngineFixtureTest {
    static Parallel pool;
    static CausalLM model;
    static List<int[]> prompts = new ArrayList<>();
    static List<int[]> greedy = new ArrayList<>();

    @BeforeAll
    static void load() throws Exception {
        Path dir = SharedFiles.require("fixtures/qwen3-tiny");
        pool = new Parallel(2);
        model = ModelLoader.load(dir, pool);
        JsonNode cases = new ObjectMapper().readTree(dir.resolve("reference/cases.json").toFile()).path("cases");
        for (JsonNode c : cases) {
            prompts.add(ints(c.path("prompt_ids")));
            greedy.add(ints(c.path("greedy").path("new_tokens")));
        }
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (pool != null) pool.close();
    }

    static int[] ints(JsonNode a) {
        int[] o = new int[a.size()];
        for (int i = 0; i < o.length; i++) o[i] = a.get(i).asInt();
        return o;
    }

    static GenerationRequest greedyRequest(int[] prompt, int max) {
        return new GenerationRequest(prompt, SamplingParams.GREEDY, max, Set.of(2), true);
    }

    @Test
    void singleRequestsReproduceReferenceGreedy() throws Exception {
        try (Engine engine = new Engine(model, EngineConfig.single(256, KvDtype.F32))) {
            for (int i = 0; i < prompts.size(); i++) {
                GenerationHandle.Result r = engine.submit(greedyRequest(prompts.get(i), 16)).await();
                assertThat(r.tokens()).containsExactly(greedy.get(i));
                assertThat(r.finished().reason()).isEqualTo(FinishReason.LENGTH);
            }
            assertThat(engine.usedBlocks()).isZero();
        }
    }

    @Test
    void concurrentRequestsWithASmallPoolPreemptAndStillMatch() throws Exception {
        // 12 requests, a pool of 10 blocks of 8 tokens: not all fit at once, so sequences are preempted and recomputed.
        EngineConfig cfg = new EngineConfig(256, 80, KvDtype.F32, 8, 48, 8, false);
        try (Engine engine = new Engine(model, cfg)) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                handles.add(engine.submit(greedyRequest(prompts.get(i % 2), 16)));
            }
            for (int i = 0; i < handles.size(); i++) {
                GenerationHandle.Result r = handles.get(i).await();
                assertThat(r.tokens()).as("request %d", i).containsExactly(greedy.get(i % 2));
            }
            assertThat(engine.stats().preemptions()).isPositive();
            assertThat(engine.usedBlocks()).isZero();
        }
    }

    @Test
    void seededSamplingIsReproducible() throws Exception {
        SamplingParams p = new SamplingParams(0.9f, 40, 0.95f, 0.02f, 1.1f, 0f, 0f, 1234L);
        try (Engine engine = new Engine(model, EngineConfig.single(256, KvDtype.F32))) {
            int[] a = engine.submit(new GenerationRequest(prompts.get(0), p, 24, Set.of(), true)).await().tokens();
            int[] b = engine.submit(new GenerationRequest(prompts.get(0), p, 24, Set.of(), true)).await().tokens();
            int[] c = engine.submit(new GenerationRequest(prompts.get(0), p.withSeed(99L), 24, Set.of(), true)).await().tokens();
            assertThat(a).hasSize(24).containsExactly(b);
            assertThat(c).isNotEqualTo(a);
        }
    }

    /** Steps of several sampled rows draw them over the pool's threads ({@link Engine#PARALLEL_DRAW_ROWS}): same tokens as alone. */
    @Test
    void seededSamplingInABatchMatchesEachRequestAlone() throws Exception {
        int users = 2 * Engine.PARALLEL_DRAW_ROWS;
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < users; i++) { // no penalties: these rows are drawn in parallel; top-k and the whole vocabulary alternate
            SamplingParams p = new SamplingParams(0.9f, i % 2 == 0 ? 40 : 0, 0.95f, 0.02f, 1f, 0f, 0f, 1000L + i);
            requests.add(new GenerationRequest(prompts.get(i % 2), p, 20, Set.of(), true));
        }
        List<int[]> alone = new ArrayList<>();
        try (Engine engine = new Engine(model, EngineConfig.single(256, KvDtype.F32))) {
            for (GenerationRequest q : requests) {
                alone.add(engine.submit(q).await().tokens());
            }
        }
        try (Engine engine = new Engine(model, new EngineConfig(256, 4096, KvDtype.F32, 16, 512, users, false))) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (GenerationRequest q : requests) {
                handles.add(engine.submit(q));
            }
            for (int i = 0; i < users; i++) {
                assertThat(handles.get(i).await().tokens()).as("request %d", i).hasSize(20).containsExactly(alone.get(i));
            }
        }
        assertThat(alone.get(0)).isNotEqualTo(alone.get(2)); // the seeds matter
    }

    @Test
    void stopsAtStopTokenAndRejectsBadInput() throws Exception {
        int[] prompt = prompts.get(0);
        int first = greedy.get(0)[0];
        try (Engine engine = new Engine(model, EngineConfig.single(64, KvDtype.F32))) {
            GenerationHandle.Result r = engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, 16, Set.of(first), false)).await();
            assertThat(r.tokens()).containsExactly(first);
            assertThat(r.finished().reason()).isEqualTo(FinishReason.STOP);

            assertThatThrownBy(() -> engine.submit(greedyRequest(new int[64], 4)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("context holds 64");
            assertThatThrownBy(() -> engine.submit(greedyRequest(new int[] {5, 999999}, 4)))
                    .hasMessageContaining("outside the model's vocabulary");
            assertThatThrownBy(() -> new SamplingParams(-1f, 0, 1f, 0f, 1f, 0f, 0f, null)).hasMessageContaining("temperature");
            assertThatThrownBy(() -> new SamplingParams(1f, 0, 1.5f, 0f, 1f, 0f, 0f, null)).hasMessageContaining("top-p");

            // Generation stops at the context length with a clear reason.
            GenerationHandle.Result full = engine.submit(greedyRequest(java.util.Arrays.copyOf(prompts.get(2), 60), 100)).await();
            assertThat(full.finished().reason()).isEqualTo(FinishReason.CONTEXT_LENGTH);
            assertThat(full.tokens()).hasSize(4);
        }
    }
}
