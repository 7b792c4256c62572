package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.Pooling;

/**
 * Embeddings through the engine: the pooled final hidden states of a whole forward pass over the input, whatever the
 * engine does on the way (chunked prefill, batching with generations, preemption, prefix reuse). On an F32 synthetic
 * model, whose kernels give every token the same bits in any batch, the vectors must equal those of one direct forward
 * pass bit for bit.
 */
class EmbeddingTest {
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

    static int[] input(long seed, int length) {
        return tiny.randomIds(seed, length);
    }

    /** Every token's final hidden state from one forward pass over {@code tokens}, alone. */
    static float[][] states(int[] tokens) {
        int hidden = model.config().hiddenSize();
        int n = tokens.length;
        int[] rows = new int[n];
        for (int i = 0; i < n; i++) rows[i] = i;
        int bs = 16;
        int[] table = new int[(n + bs - 1) / bs];
        for (int i = 0; i < table.length; i++) table[i] = i;
        float[] flat = new float[n * hidden];
        try (PagedKvCache cache = model.kvLayout().allocate(table.length, bs, KvDtype.F32)) {
            ForwardBatch b = ForwardBatch.ofSequence(tokens, 0, table, false);
            model.forward(new ForwardBatch(b.tokens(), b.positions(), b.tables(), new int[0], 0, null, rows), cache, new float[0], flat);
        }
        float[][] out = new float[n][hidden];
        for (int i = 0; i < n; i++) System.arraycopy(flat, i * hidden, out[i], 0, hidden);
        return out;
    }

    /** The pooling as sentence-transformers defines it, over tokens {@code skip ..}, from a direct forward pass. */
    static float[] expected(int[] tokens, Pooling pooling, int skip) {
        float[][] h = states(tokens);
        int d = h[0].length;
        double[] acc = new double[d];
        double weight = 0;
        if (pooling == Pooling.MAX) java.util.Arrays.fill(acc, Double.NEGATIVE_INFINITY);
        for (int p = skip; p < tokens.length; p++) {
            for (int i = 0; i < d; i++) {
                switch (pooling) {
                    case MEAN, MEAN_SQRT_LEN -> acc[i] += h[p][i];
                    case WEIGHTED_MEAN -> acc[i] += (p + 1) * (double) h[p][i];
                    case MAX -> acc[i] = Math.max(acc[i], h[p][i]);
                    case FIRST -> acc[i] = p == skip ? h[p][i] : acc[i];
                    case LAST -> acc[i] = h[p][i];
                }
            }
            weight += pooling == Pooling.WEIGHTED_MEAN ? p + 1 : 1;
        }
        double div = switch (pooling) {
            case MEAN, WEIGHTED_MEAN -> weight;
            case MEAN_SQRT_LEN -> Math.sqrt(weight);
            default -> 1;
        };
        float[] v = new float[d];
        for (int i = 0; i < d; i++) v[i] = (float) (acc[i] / div);
        return v;
    }

    @Test
    void everyPoolingEqualsTheDirectForwardPass() throws Exception {
        int[] in = input(1, 37);
        java.util.Map<String, float[]> want = new java.util.HashMap<>(); // before the engine runs: one model, one thread at a time
        for (Pooling p : Pooling.values()) {
            for (int skip : new int[] {0, 5}) want.put(p + "/" + skip, expected(in, p, skip));
        }
        try (Engine engine = new Engine(model, EngineServingTest.config(512, 16, 16, 4, 64, true))) { // 16-token chunks
            for (Pooling p : Pooling.values()) {
                for (int skip : new int[] {0, 5}) {
                    GenerationHandle.EmbeddingResult r = engine.embed(new EmbeddingRequest(in, p, skip)).awaitEmbedding();
                    assertThat(r.finished().reason()).isEqualTo(FinishReason.STOP);
                    assertThat(r.finished().usage().promptTokens()).isEqualTo(37);
                    assertThat(r.finished().usage().completionTokens()).isZero();
                    assertThat(r.vector()).as("%s skipping %d", p, skip).containsExactly(want.get(p + "/" + skip));
                }
            }
            assertThat(engine.usedBlocks()).isZero();
        }
        // the poolings differ from each other, so the comparison above tells them apart
        assertThat(expected(in, Pooling.MEAN, 0)).isNotEqualTo(expected(in, Pooling.LAST, 0)).isNotEqualTo(expected(in, Pooling.FIRST, 0));
        assertThat(expected(in, Pooling.MEAN, 0)).isNotEqualTo(expected(in, Pooling.MEAN, 5));
    }

    @Test
    void embeddingsBatchedWithGenerationsAndPreemptedChangeNothing() throws Exception {
        List<int[]> inputs = new ArrayList<>();
        List<GenerationRequest> gens = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            inputs.add(input(100 + i, 3 + 11 * i % 60));
            gens.add(EngineServingTest.greedy(input(200 + i, 4 + 7 * i % 40), 6 + i % 9));
        }
        List<int[]> alone = new ArrayList<>();
        List<float[]> want = new ArrayList<>(); // before any engine runs: one model, one thread at a time
        for (int i = 0; i < 12; i++) want.add(expected(inputs.get(i), i % 2 == 0 ? Pooling.LAST : Pooling.MEAN, 0));
        try (Engine engine = new Engine(model, EngineServingTest.config(512, 16, 512, 1, 64, false))) {
            for (GenerationRequest g : gens) alone.add(engine.submit(g).await().tokens());
        }
        // 12 blocks of 8 tokens with a 24-token budget: prompts are chunked, steps mix both kinds, and blocks run out
        try (Engine engine = new Engine(model, EngineServingTest.config(96, 8, 24, 16, 1024, false))) {
            List<GenerationHandle> e = new ArrayList<>();
            List<GenerationHandle> g = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                g.add(engine.submit(gens.get(i)));
                e.add(engine.embed(new EmbeddingRequest(inputs.get(i), i % 2 == 0 ? Pooling.LAST : Pooling.MEAN)));
            }
            for (int i = 0; i < 12; i++) {
                assertThat(e.get(i).awaitEmbedding().vector()).as("embedding %d", i).containsExactly(want.get(i));
                assertThat(g.get(i).await().tokens()).as("generation %d", i).containsExactly(alone.get(i));
            }
            assertThat(engine.stats().preemptions()).isPositive();
            assertThat(engine.usedBlocks()).isZero();
        }
    }

    @Test
    void lastTokenPoolingReusesCachedPrefixesAndTheOthersComputeEveryToken() throws Exception {
        int[] in = input(7, 50);
        float[] mean0 = expected(in, Pooling.MEAN, 0);
        try (Engine engine = new Engine(model, EngineServingTest.config(512, 16, 512, 4, 64, true))) {
            GenerationHandle.EmbeddingResult first = engine.embed(new EmbeddingRequest(in, Pooling.LAST)).awaitEmbedding();
            GenerationHandle.EmbeddingResult again = engine.embed(new EmbeddingRequest(in, Pooling.LAST)).awaitEmbedding();
            assertThat(first.finished().usage().cachedPromptTokens()).isZero();
            assertThat(again.finished().usage().cachedPromptTokens()).isEqualTo(48); // three full blocks of 16
            assertThat(again.vector()).containsExactly(first.vector());
            GenerationHandle.EmbeddingResult mean = engine.embed(new EmbeddingRequest(in, Pooling.MEAN)).awaitEmbedding();
            assertThat(mean.finished().usage().cachedPromptTokens()).isZero();
            assertThat(mean.vector()).containsExactly(mean0);
        }
    }

    @Test
    void inputsThatCannotFitAreRefusedAtOnce() {
        try (Engine engine = new Engine(model, new EngineConfig(64, 48, KvDtype.F32, 16, 512, 4, false, 64, true))) {
            assertThatThrownBy(() -> engine.embed(new EmbeddingRequest(input(1, 65), Pooling.LAST)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("65 tokens").hasMessageContaining("context holds 64");
            assertThatThrownBy(() -> engine.embed(new EmbeddingRequest(input(1, 60), Pooling.LAST)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("KV cache");
            assertThatThrownBy(() -> engine.embed(new EmbeddingRequest(new int[] {model.vocabSize()}, Pooling.LAST)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("outside the model's vocabulary");
            assertThatThrownBy(() -> new EmbeddingRequest(new int[] {1, 2}, Pooling.MEAN, 2))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("all of them prompt");
        }
    }

    @Test
    void aCancelledEmbeddingFreesItsBlocks() throws Exception {
        try (Engine engine = Engine.manual(model, EngineServingTest.config(512, 16, 16, 4, 64, false))) {
            GenerationHandle h = engine.embed(new EmbeddingRequest(input(3, 60), Pooling.MEAN));
            engine.stepOnce(); // a first 16-token chunk
            assertThat(engine.usedBlocks()).isPositive();
            h.cancel();
            engine.stepOnce();
            GenerationHandle.EmbeddingResult r = h.awaitEmbedding();
            assertThat(r.vector()).isNull();
            assertThat(r.finished().reason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(engine.usedBlocks()).isZero();
        }
    }
}
