package org.redhare.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;
import org.redhare.core.Parallel;
import org.redhare.core.matrix.WeightMatrix;

/**
 * One-token products over many distinct matrices of one shape, one after another, as decode walks a model's
 * layers: every matrix comes from DRAM, and each starts a new stream. {@link QuickMatrixRates} repeats one matrix
 * (from cache when it fits, or one long stream when it does not). {@code java --add-modules jdk.incubator.vector
 * -cp bench/target/benchmarks.jar org.redhare.bench.ManyMatrixRates fp8 4864x896 80 [tokens [threads]]}. Prints
 * thread-CPU rates, steadier than wall time on a shared machine, with one thread; wall-time rates with more (the
 * workers' time is not the caller's). With several tokens, G weights/s counts products (weights times tokens).
 */
public final class ManyMatrixRates {
    private ManyMatrixRates() {}

    public static void main(String[] args) {
        String dtype = args[0];
        String[] shape = args[1].split("x");
        int rows = Integer.parseInt(shape[0]);
        int cols = Integer.parseInt(shape[1]);
        int count = Integer.parseInt(args[2]);
        Random rnd = new Random(1);
        WeightMatrix[] matrices = new WeightMatrix[count];
        long bytes = 0;
        for (int i = 0; i < count; i++) {
            matrices[i] = MatrixBench.matrix(dtype, rows, cols, rnd);
            bytes += matrices[i].bytes();
            if ((i + 1) % 10 == 0 || i + 1 == count) {
                System.err.printf("\rbuilt %d of %d matrices", i + 1, count);
            }
        }
        System.err.println();
        int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] y = new float[tokens * rows];
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        try (Parallel pool = new Parallel(threads)) {
            for (int round = 0; round < 6; round++) {
                long c0 = threads == 1 ? mx.getCurrentThreadCpuTime() : System.nanoTime();
                for (int pass = 0; pass < 3; pass++) {
                    for (WeightMatrix m : matrices) {
                        m.multiply(pool, x, tokens, y);
                    }
                }
                double s = ((threads == 1 ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - c0) / 1e9;
                System.out.printf("%s %d x [%dx%d], %d MB, %d tokens, %d threads: %.2f G weights/s, %.2f GB/s (%s)%n", dtype, count, rows,
                        cols, bytes / 1_000_000, tokens, threads, 3.0 * count * rows * cols * tokens / s / 1e9, 3.0 * bytes / s / 1e9,
                        threads == 1 ? "thread CPU time" : "wall");
            }
        }
    }
}
