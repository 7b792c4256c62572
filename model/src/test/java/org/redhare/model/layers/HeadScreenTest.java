package org.redhare.model.layers;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
import org.redhare.model.LoadOptions;
import org.redhare.model.LoadOptions.HeadScreen;
import org.redhare.model.ModelLoader;
import org.redhare.model.ModelSummary;
import org.redhare.model.synth.SyntheticModel;

/** The LM head's screen: built where the options say, the same greedy tokens as the exact head, fewer bytes a token. */
class HeadScreenTest {
    @TempDir
    static Path tmp;
    static Path bf16;
    static Path f32;
    static Parallel pool;

    @BeforeAll
    static void writeModels() throws IOException {
        bf16 = tmp.resolve("bf16");
        f32 = tmp.resolve("f32");
        SyntheticModel.Shape shape = SyntheticModel.withArch(SyntheticModel.shape("tiny"), "qwen2");
        SyntheticModel.write(shape, DType.BF16, bf16, 11, (d, t) -> {});
        SyntheticModel.write(shape, DType.F32, f32, 11, (d, t) -> {});
        pool = new Parallel(2);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    /** The first largest of {@code y[off .. off + n)}, as an index from {@code off}. */
    private static int argmax(float[] y, int off, int n) {
        int best = 0;
        for (int v = 1; v < n; v++) {
            if (y[off + v] > y[off + best]) {
                best = v;
            }
        }
        return best;
    }

    /** 40 greedy tokens, one forward pass each; {@code exactTop} 1 as the engine sets it for greedy requests, or 0. */
    static int[] greedy(CausalLM m, boolean argmaxOnly) {
        int steps = 40;
        int[] out = new int[steps];
        try (PagedKvCache cache = m.kvLayout().allocate(4, 16, KvDtype.F32)) {
            int[] table = {0, 1, 2, 3};
            float[] logits = new float[m.vocabSize()];
            int token = 7;
            for (int i = 0; i < steps; i++) {
                m.forward(new ForwardBatch(new int[] {token}, new int[] {i}, new int[][] {table}, new int[] {0}, argmaxOnly ? 1 : 0), cache, logits);
                out[i] = token = argmax(logits, 0, logits.length);
            }
        }
        return out;
    }

    @Test
    void screenedGreedyTokensAreTheExactHeadsAndReadFewerBytes() {
        List<String> log = new ArrayList<>();
        LoadOptions on = new LoadOptions(org.redhare.model.quant.Quantization.NONE, (d, t) -> {}, log::add, HeadScreen.ON);
        try (CausalLM screened = ModelLoader.load(bf16, pool, on);
             CausalLM exact = ModelLoader.load(bf16, pool, LoadOptions.DEFAULT.withHeadScreen(HeadScreen.OFF))) {
            Decoder d = (Decoder) screened;
            assertThat(d.headScreen()).isNotNull();
            assertThat(log).anyMatch(s -> s.startsWith("LM head screened for greedy and top-k sampling"));
            int[] want = greedy(exact, false);
            assertThat(greedy(screened, true)).isEqualTo(want);
            assertThat(d.headScreen().lastCandidates()).as("the last token went through the screen").isPositive();
            assertThat(greedy(screened, false)).as("batches that need every logit take the exact head").isEqualTo(want);
            assertThat(d.headScreen().lastCandidates()).as("untouched by exact passes").isPositive();
            ModelSummary s = screened.summary();
            ModelSummary e = exact.summary();
            assertThat(e.headScreenBytes()).isZero();
            assertThat(e.greedyDecodeBytesPerToken()).isEqualTo(e.decodeBytesPerToken());
            assertThat(s.decodeBytesPerToken()).isEqualTo(e.decodeBytesPerToken());
            assertThat(s.headScreenBytes()).isBetween(s.lmHeadBytes() / 2, s.lmHeadBytes() * 6 / 10);
            assertThat(s.greedyDecodeBytesPerToken()).isEqualTo(s.decodeBytesPerToken() - s.lmHeadBytes() + s.headScreenBytes());
        }
    }

    @Test
    void autoScreensLargeHeadsOnlyAndOnSaysWhenItCannot() {
        try (CausalLM m = ModelLoader.load(bf16, pool)) {
            ModelSummary s = m.summary();
            assertThat(s.lmHeadBytes()).isGreaterThan((long) (HeadScreen.AUTO_SHARE * s.decodeBytesPerToken()));
            assertThat(((Decoder) m).headScreen()).as("the tiny model's head is most of its bytes").isNotNull();
        }
        try (CausalLM m = ModelLoader.load(f32, pool)) {
            ModelSummary s = m.summary();
            assertThat(((Decoder) m).headScreen()).as("an F32 head too").isNotNull();
            assertThat(s.headScreenBytes()).isLessThan(s.lmHeadBytes() * 3 / 10);
        }
        List<String> log = new ArrayList<>();
        LoadOptions on = new LoadOptions(org.redhare.model.quant.Quantization.Q8_0, (d, t) -> {}, log::add, HeadScreen.ON);
        try (CausalLM m = ModelLoader.load(bf16, pool, on)) {
            assertThat(((Decoder) m).headScreen()).isNull();
            assertThat(log).anyMatch(s -> s.contains("--head-screen on: no screen for a Q8_0 LM head"));
        }
        assertThat(HeadScreen.parse("Auto")).isEqualTo(HeadScreen.AUTO);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HeadScreen.parse("yes")).hasMessageContaining("use auto, on or off");
    }

    /** 30 greedy steps of four sequences decoded together (different first tokens), their tokens sequence by sequence. */
    static int[][] greedyBatch(CausalLM m) {
        int seqs = 4, steps = 30, vocab = m.vocabSize();
        int[][] out = new int[seqs][steps];
        try (PagedKvCache cache = m.kvLayout().allocate(4 * seqs, 16, KvDtype.F32)) {
            int[][] tables = new int[seqs][];
            int[] tokens = new int[seqs], positions = new int[seqs], rows = new int[seqs];
            for (int q = 0; q < seqs; q++) {
                tables[q] = new int[] {4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3};
                tokens[q] = 3 + 11 * q;
                rows[q] = q;
            }
            float[] logits = new float[seqs * vocab];
            for (int i = 0; i < steps; i++) {
                java.util.Arrays.fill(positions, i);
                m.forward(new ForwardBatch(tokens.clone(), positions.clone(), tables, rows, 1), cache, logits);
                for (int q = 0; q < seqs; q++) {
                    out[q][i] = tokens[q] = argmax(logits, q * vocab, vocab);
                }
            }
        }
        return out;
    }

    /**
     * An FP8 head ({@code --quantize fp8}): where batches screen in integers (AVX512-VNNI, AVX2) the screen is built and read by
     * batches of greedy sequences alone, with the exact FP8 head's tokens; one token reads the head, and the summary counts
     * no screen bytes for it. Elsewhere there is none, and {@code on} says why.
     */
    @Test
    void anFp8HeadIsScreenedForBatchesAlone() {
        List<String> log = new ArrayList<>();
        LoadOptions on = new LoadOptions(org.redhare.model.quant.Quantization.FP8, (d, t) -> {}, log::add, HeadScreen.ON);
        try (CausalLM screened = ModelLoader.load(bf16, pool, on);
             CausalLM exact = ModelLoader.load(bf16, pool, new LoadOptions(org.redhare.model.quant.Quantization.FP8, (d, t) -> {}, s -> {},
                     HeadScreen.OFF))) {
            Decoder d = (Decoder) screened;
            if (d.headScreen() == null) {
                assertThat(log).anyMatch(s -> s.contains("--head-screen on: no screen for a F8_E4M3 LM head"));
                return;
            }
            assertThat(d.headScreen().screensOneToken()).isFalse();
            assertThat(d.headScreen().screensBatches()).isTrue();
            assertThat(log).anyMatch(s -> s.startsWith("LM head screened for batches of greedy and top-k users"));
            assertThat(greedy(screened, true)).as("one token").isEqualTo(greedy(exact, true));
            assertThat(d.headScreen().lastCandidates()).as("one token read the FP8 head, not the screen").isEqualTo(-1);
            assertThat(greedyBatch(screened)).as("four sequences at once").isEqualTo(greedyBatch(exact));
            assertThat(d.headScreen().lastCandidates()).as("the last step went through the screen").isBetween(4, 4 * 512 / 16);
            ModelSummary s = screened.summary();
            assertThat(s.headScreenBytes()).isZero();
            assertThat(s.batchScreenBytes()).isEqualTo(d.headScreen().bytes());
            assertThat(s.greedyDecodeBytesPerToken()).isEqualTo(exact.summary().decodeBytesPerToken());
        }
        LoadOptions auto = new LoadOptions(org.redhare.model.quant.Quantization.FP8, (d, t) -> {}, s -> {});
        try (CausalLM m = ModelLoader.load(bf16, pool, auto)) {
            assertThat(((Decoder) m).headScreen()).as("auto, where batches may come").isNotNull();
        }
        try (CausalLM m = ModelLoader.load(bf16, pool, auto.withBatches(false))) {
            assertThat(((Decoder) m).headScreen()).as("auto, one sequence at a time: nothing would read it").isNull();
            assertThat(m.summary().batchScreenBytes()).isZero();
        }
        try (CausalLM m = ModelLoader.load(bf16, pool, auto.withBatches(false).withHeadScreen(HeadScreen.ON))) {
            assertThat(((Decoder) m).headScreen()).as("on builds it anyway").isNotNull();
        }
    }
}
