package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Set;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.ModelLoader;
import org.redhare.model.synth.SyntheticModel;

/** A token constraint: only allowed tokens come out, greedy picks the best allowed one, sampling renormalizes over them. */
class ConstrainedDecodingTest {
    @TempDir static Path tmp;
    static Parallel pool;
    static CausalLM model;
    static final int[] PROMPT = {3, 14, 15, 92, 65};

    @BeforeAll
    static void load() throws Exception {
        Path dir = tmp.resolve("m");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2"), DType.BF16, dir, 21, (d, t) -> {});
        pool = new Parallel(2);
        model = ModelLoader.load(dir, pool);
    }

    @AfterAll
    static void close() {
        model.close();
        pool.close();
    }

    /** Allows the tokens {@code ok} says; whole after {@code length} tokens. */
    static final class Only implements TokenConstraint {
        final IntPredicate ok;
        final int length;
        int taken;

        Only(IntPredicate ok, int length) {
            this.ok = ok;
            this.length = length;
        }

        @Override public boolean allows(int token) {
            return ok.test(token);
        }

        @Override public void accept(int token) {
            assertThat(ok.test(token)).isTrue();
            taken++;
        }

        @Override public boolean complete() {
            return taken >= length;
        }
    }

    private static float[] logitsAfter(int[] tokens) {
        float[] logits = new float[model.vocabSize()];
        try (PagedKvCache cache = model.kvLayout().allocate(8, 16, KvDtype.F32)) {
            model.forward(ForwardBatch.ofSequence(tokens, 0, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, false), cache, logits);
        }
        return logits;
    }

    @Test
    void greedyTakesTheBestAllowedTokenAndStopsWhenWhole() throws Exception {
        IntPredicate ok = t -> t % 7 == 3;
        Only c = new Only(ok, 6);
        java.util.List<Integer> out = new java.util.ArrayList<>();
        GenerationEvent.Finished end;
        try (Engine e = new Engine(model, EngineConfig.single(64, KvDtype.F32))) {
            end = e.submit(new GenerationRequest(PROMPT, SamplingParams.GREEDY, 20, Set.of(), true, 0, false, false, c)).stream(t -> out.add(t.id()));
        }
        assertThat(end.reason()).isEqualTo(FinishReason.STOP);
        assertThat(out).hasSize(6);
        int[] seq = PROMPT.clone();
        for (int token : out) {
            float[] l = logitsAfter(seq);
            int best = -1;
            for (int v = 0; v < l.length; v++) {
                if (ok.test(v) && (best < 0 || l[v] > l[best])) {
                    best = v;
                }
            }
            assertThat(token).isEqualTo(best);
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = token;
        }
    }

    /** A constraint that throws ends its own sequence with an error; a request beside it finishes as usual. */
    @Test
    void aFailingConstraintEndsOnlyItsSequence() throws Exception {
        TokenConstraint broken = new Only(t -> {
            throw new IllegalStateException("broken");
        }, 3);
        try (Engine e = new Engine(model, new EngineConfig(64, 1024, KvDtype.F32, 16, 256, 4, false))) {
            GenerationHandle bad = e.submit(new GenerationRequest(PROMPT, SamplingParams.GREEDY, 8, Set.of(), true, 0, false, false, broken));
            GenerationHandle good = e.submit(new GenerationRequest(PROMPT, SamplingParams.GREEDY, 8, Set.of(), true));
            GenerationEvent.Finished b = bad.stream(t -> {});
            assertThat(b.reason()).isEqualTo(FinishReason.ERROR);
            assertThat(b.message()).contains("the token constraint failed").contains("broken");
            assertThat(good.await().tokens()).hasSize(8);
        }
    }

    /** Draws from three allowed tokens land in proportion to their probabilities renormalized over the three. */
    @Test
    void samplingRenormalizesOverTheAllowedTokens() throws Exception {
        float[] l = logitsAfter(PROMPT);
        // the three allowed: the most likely token overall and two of middling rank, so the first draw is often refused
        Integer[] order = java.util.stream.IntStream.range(0, l.length).boxed().sorted((a, b) -> Float.compare(l[b], l[a])).toArray(Integer[]::new);
        int[] allowed = {order[0], order[3], order[6]};
        double[] p = new double[3];
        double z = 0;
        for (int i = 0; i < 3; i++) {
            p[i] = Math.exp(l[allowed[i]]);
            z += p[i];
        }
        int[] counts = new int[3];
        int n = 1500;
        try (Engine e = new Engine(model, EngineConfig.single(64, KvDtype.F32))) {
            for (int s = 0; s < n; s++) {
                Only c = new Only(t -> t == allowed[0] || t == allowed[1] || t == allowed[2], 1);
                int t = e.submit(new GenerationRequest(PROMPT, new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, (long) s), 1, Set.of(), true,
                        0, false, false, c)).await().tokens()[0];
                for (int i = 0; i < 3; i++) {
                    if (t == allowed[i]) {
                        counts[i]++;
                    }
                }
            }
        }
        assertThat(counts[0] + counts[1] + counts[2]).isEqualTo(n);
        for (int i = 0; i < 3; i++) {
            double expected = n * p[i] / z;
            double sd = Math.sqrt(n * (p[i] / z) * (1 - p[i] / z));
            assertThat((double) counts[i]).as("token %d: expected %.1f", allowed[i], expected).isBetween(expected - 5 * sd - 1, expected + 5 * sd + 1);
        }
    }
}
