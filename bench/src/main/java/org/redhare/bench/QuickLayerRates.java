package org.redhare.bench;

import java.util.Random;
import org.redhare.core.Parallel;
import org.redhare.core.matrix.WeightMatrix;

/**
 * One-token products over a decoder's linear layers in turn, as decode reads them: {@code LAYERS} layers of q, k, v,
 * o, gate, up and down at the given sizes, each its own matrix, so every product reads its weights from DRAM after
 * the others have passed through the caches (a single matrix multiplied again and again, as {@link QuickMatrixRates}
 * does, measures something else on a host whose L3 holds part of it). Prints the rate of each kind of matrix,
 * GB of weights read per second of wall time, every two seconds, for six rounds (take the last ones):
 * {@code java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar org.redhare.bench.QuickLayerRates
 * bf16 HIDDEN KV FFN LAYERS [threads [tokens]]} (KV: the k and v projections' rows, heads times head size; tokens: how many
 * tokens each product takes, 1 by default, 16 for a decode step of sixteen users).
 */
public final class QuickLayerRates {
    private QuickLayerRates() {}

    public static void main(String[] args) {
        String dtype = args[0];
        int hidden = Integer.parseInt(args[1]);
        int kv = Integer.parseInt(args[2]);
        int ffn = Integer.parseInt(args[3]);
        int layers = Integer.parseInt(args[4]);
        int threads = args.length > 5 ? Integer.parseInt(args[5]) : 1;
        int tokens = args.length > 6 ? Integer.parseInt(args[6]) : 1;
        String[] names = {"q", "k", "v", "o", "gate", "up", "down"};
        int[][] shapes = {{hidden, hidden}, {kv, hidden}, {kv, hidden}, {hidden, hidden}, {ffn, hidden}, {ffn, hidden}, {hidden, ffn}};
        Random rnd = new Random(1);
        WeightMatrix[][] m = new WeightMatrix[layers][shapes.length];
        for (int l = 0; l < layers; l++) {
            for (int k = 0; k < shapes.length; k++) {
                m[l][k] = MatrixBench.matrix(dtype, shapes[k][0], shapes[k][1], rnd);
            }
            System.out.printf("built layer %d/%d%n", l + 1, layers);
        }
        float[][] x = new float[shapes.length][];
        for (int k = 0; k < shapes.length; k++) {
            x[k] = new float[shapes[k][1] * tokens];
            for (int i = 0; i < x[k].length; i++) {
                x[k][i] = (float) rnd.nextGaussian();
            }
        }
        float[] y = new float[Math.max(hidden, ffn) * tokens];
        try (Parallel pool = new Parallel(threads)) {
            for (int round = 0; round < 6; round++) {
                long[] ns = new long[shapes.length];
                double[] bytes = new double[shapes.length];
                long t0 = System.nanoTime();
                int passes = 0;
                while (System.nanoTime() - t0 < 2_000_000_000L) {
                    for (int l = 0; l < layers; l++) {
                        for (int k = 0; k < shapes.length; k++) {
                            long s = System.nanoTime();
                            m[l][k].multiply(pool, x[k], tokens, y);
                            ns[k] += System.nanoTime() - s;
                            bytes[k] += m[l][k].bytes();
                        }
                    }
                    passes++;
                }
                StringBuilder line = new StringBuilder(String.format("%s round %d, %d passes:", dtype, round, passes));
                for (int k = 0; k < shapes.length; k++) {
                    line.append(String.format(" %s %.1f", names[k], bytes[k] / ns[k]));
                }
                System.out.println(line.append(" GB/s"));
            }
        }
    }
}
