package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.DType;
import org.redhare.core.Parallel;
import org.redhare.core.attention.KvDtype;
import org.redhare.model.CausalLM;
import org.redhare.model.LoadOptions;
import org.redhare.model.LoadOptions.HeadScreen;
import org.redhare.model.ModelLoader;
import org.redhare.model.layers.Decoder;
import org.redhare.model.synth.SyntheticModel;

/**
 * Requests with penalties go through the LM head's screen (the sampler is the change the screen bounds) and draw the
 * tokens they draw from the exact head: greedy and seeded top-k, repetition, presence (a boost when negative) and
 * frequency penalties, logit biases.
 */
class ScreenedPenaltiesTest {
    @TempDir Path tmp;

    private static int[] run(CausalLM m, SamplingParams sp) throws Exception {
        try (Engine e = new Engine(m, EngineConfig.single(128, KvDtype.F32))) {
            return e.submit(new GenerationRequest(new int[] {5, 9, 9, 40, 7, 5}, sp, 64, Set.of(), true)).await().tokens();
        }
    }

    @Test
    void penalizedRequestsDrawTheExactHeadsTokensThroughTheScreen() throws Exception {
        Path dir = tmp.resolve("m");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2"), DType.BF16, dir, 5, (d, t) -> {});
        SamplingParams[] cases = {
            new SamplingParams(0f, 0, 1f, 0f, 1.3f, 0f, 0f, null),
            new SamplingParams(0f, 0, 1f, 0f, 1f, -0.5f, 0.4f, null),
            new SamplingParams(0.9f, 20, 0.95f, 0.02f, 1.3f, -0.4f, 0.3f, 9L),
            new SamplingParams(1.2f, 8, 1f, 0f, 0.8f, 0.6f, 0f, 3L), // (the tiny vocabulary's flat logits let too many rows through for k 40)
            new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, java.util.Map.of(123, 1.5f, 400, 2.5f, 7, -100f)), // logit_bias
            new SamplingParams(0.9f, 10, 1f, 0f, 1.2f, 0f, 0.2f, 5L, java.util.Map.of(123, 1.5f, 31, -1f)),
        };
        try (Parallel pool = new Parallel(2);
             CausalLM screened = ModelLoader.load(dir, pool, LoadOptions.DEFAULT.withHeadScreen(HeadScreen.ON));
             CausalLM exact = ModelLoader.load(dir, pool, LoadOptions.DEFAULT.withHeadScreen(HeadScreen.OFF))) {
            assertThat(((Decoder) exact).headScreen()).isNull();
            for (SamplingParams sp : cases) {
                int[] want = run(exact, sp);
                assertThat(run(screened, sp)).as("%s", sp).isEqualTo(want);
                assertThat(((Decoder) screened).headScreen().lastCandidates()).as("the last token went through the screen").isPositive();

                SamplingParams unpenalized = new SamplingParams(sp.temperature(), sp.topK(), sp.topP(), sp.minP(), 1f, 0f, 0f, sp.seed());
                assertThat(run(exact, unpenalized)).as("the penalties change what is drawn").isNotEqualTo(want);
            }
        }
    }

    /** Allows a fixed third of the vocabulary: most drawn tokens are refused, and the redraw needs every logit. */
    private static final class EveryThird implements TokenConstraint {
        int refusals; // draws refused: each asks for the allowed set once

        @Override
        public boolean allows(int token) {
            return Math.floorMod(token * 0x9E3779B1, 3) == 0;
        }

        @Override
        public int allowed(boolean[] out, int vocab) {
            refusals++;
            return TokenConstraint.super.allowed(out, vocab);
        }

        @Override
        public void accept(int token) {}

        @Override
        public boolean complete() {
            return false;
        }
    }

    private static int[] constrained(CausalLM m, SamplingParams sp, EveryThird c) throws Exception {
        try (Engine e = new Engine(m, EngineConfig.single(128, KvDtype.F32))) {
            return e.submit(new GenerationRequest(new int[] {5, 9, 9, 40, 7, 5}, sp, 48, Set.of(), true, 0, false, false, c)).await().tokens();
        }
    }

    /**
     * Constrained requests go through the screen too: the drawn token is the exact head's, and when the constraint
     * refuses it the step's logits are made exact before the draw among the allowed tokens, so the tokens are the exact
     * head's throughout.
     */
    @Test
    void constrainedRequestsDrawTheExactHeadsTokensThroughTheScreen() throws Exception {
        Path dir = tmp.resolve("m");
        SyntheticModel.write(SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2"), DType.BF16, dir, 5, (d, t) -> {});
        try (Parallel pool = new Parallel(2);
             CausalLM screened = ModelLoader.load(dir, pool, LoadOptions.DEFAULT.withHeadScreen(HeadScreen.ON));
             CausalLM exact = ModelLoader.load(dir, pool, LoadOptions.DEFAULT.withHeadScreen(HeadScreen.OFF))) {
            for (SamplingParams sp : new SamplingParams[] {SamplingParams.GREEDY, new SamplingParams(0.9f, 20, 0.95f, 0.02f, 1.1f, 0f, 0f, 9L)}) {
                EveryThird onScreen = new EveryThird();
                int[] want = constrained(exact, sp, new EveryThird());
                assertThat(constrained(screened, sp, onScreen)).as("%s", sp).isEqualTo(want);
                assertThat(onScreen.refusals).as("refused draws: the exact logits were needed").isGreaterThan(5);
                assertThat(((Decoder) screened).headScreen().lastCandidates()).as("the steps went through the screen").isPositive();
            }
        }
    }
}
