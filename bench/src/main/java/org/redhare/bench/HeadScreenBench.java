package org.redhare.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.redhare.core.Parallel;
import org.redhare.core.matrix.ScreenedHead;
import org.redhare.core.matrix.WeightMatrix;

/**
 * One token's logits through a BF16 LM head, one thread: the exact head ({@code k = 0}) against its int8 screen for the
 * argmax ({@code k = 1}) and for top-k sampling's 40 largest. Random weights and states, so the logits are flat (the
 * screen's hard case: more rows pass than on a trained model). {@code gbytes} is GB of head data a call reads (the
 * screen's copy and bounds, without its few exact rows); {@code exactRows} counts the rows computed exactly. Run:
 * {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar HeadScreenBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class HeadScreenBench {
    /** The LM heads of Qwen2.5-0.5B and Llama-3.2-1B. */
    @Param({"151936x896", "128256x2048"})
    public String shape;

    @Param({"0", "1", "40"})
    public int k;

    private WeightMatrix head;
    private ScreenedHead screen;
    private Parallel pool;
    private float[][] states;
    private float[] logits;
    private int next;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        int rows = Integer.parseInt(p[0]);
        int cols = Integer.parseInt(p[1]);
        Random rnd = new Random(1);
        head = MatrixBench.matrix("bf16", rows, cols, rnd);
        pool = new Parallel(1);
        screen = k > 0 ? ScreenedHead.of(pool, head) : null;
        states = new float[16][cols];
        for (float[] s : states) {
            for (int c = 0; c < cols; c++) {
                s[c] = (float) rnd.nextGaussian();
            }
        }
        logits = new float[rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    /** Counters accumulated per call and divided by time by JMH. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double gbytes;
        public double exactRows;
    }

    @Benchmark
    public float[] logits(Rates rates) {
        float[] x = states[next++ & 15];
        if (screen == null) {
            head.multiply(pool, x, 1, logits);
            rates.gbytes += head.bytes() * 1e-9;
            rates.exactRows += head.rows();
        } else {
            screen.topLogits(pool, x, k, logits);
            rates.gbytes += screen.bytes() * 1e-9;
            int n = screen.lastCandidates();
            rates.exactRows += n < 0 ? head.rows() : n;
        }
        return logits;
    }
}
