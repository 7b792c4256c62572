package org.redhare.bench;

import java.util.Random;
import org.redhare.core.Parallel;
import org.redhare.core.matrix.ScreenedHead;
import org.redhare.core.matrix.WeightMatrix;

/**
 * The batched LM head screen ({@link ScreenedHead#topLogits(Parallel, float[], int, int, float[])}: greedy, several
 * tokens) on a random BF16 head, without JMH's forks: {@code java --add-modules jdk.incubator.vector
 * --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar org.redhare.bench.QuickScreenRates 151936x896 16 2}
 * (shape, tokens, threads). Prints milliseconds a call and the rows computed exactly, five one-second rounds.
 */
public final class QuickScreenRates {
    private QuickScreenRates() {}

    public static void main(String[] args) {
        String[] p = args[0].split("x");
        int rows = Integer.parseInt(p[0]);
        int cols = Integer.parseInt(p[1]);
        int n = Integer.parseInt(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        Random rnd = new Random(1);
        WeightMatrix head = MatrixBench.matrix("bf16", rows, cols, rnd);
        try (Parallel pool = new Parallel(threads)) {
            ScreenedHead screen = ScreenedHead.of(pool, head);
            if (screen == null || !screen.screensBatches()) {
                System.out.println("no batched screen here (it needs machine code for integer products: AVX512-VNNI, or AVX2); the exact head runs");
            }
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] logits = new float[n * rows];
            for (int round = 0; round < 5; round++) {
                long t0 = System.nanoTime();
                int calls = 0;
                long exact = 0;
                while (System.nanoTime() - t0 < 1_000_000_000L) {
                    screen.topLogits(pool, x, n, 1, logits);
                    exact += Math.max(0, screen.lastCandidates());
                    calls++;
                }
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf("screen %dx%d, %d tokens, %d threads: %.3f ms/call, %.1f rows exact a call%n",
                        rows, cols, n, threads, s / calls * 1e3, (double) exact / calls);
            }
        }
    }
}
