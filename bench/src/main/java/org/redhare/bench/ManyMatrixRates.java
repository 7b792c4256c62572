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
 * -cp bench/target/benchmarks.jar org.redhare.bench.ManyMatrixRates fp8 4864x896 80}. Prints thread-CPU rates,
 * steadier than wall time on a shared machine.
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
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] y = new float[rows];
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        try (Parallel pool = new Parallel(1)) {
            for (int round = 0; round < 6; round++) {
                long c0 = mx.getCurrentThreadCpuTime();
                for (int pass = 0; pass < 3; pass++) {
                    for (WeightMatrix m : matrices) {
                        m.multiply(pool, x, 1, y);
                    }
                }
                double s = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
                System.out.printf("%s %d x [%dx%d], %d MB: %.2f G weights/s, %.2f GB/s (thread CPU time)%n", dtype, count, rows, cols,
                        bytes / 1_000_000, 3.0 * count * rows * cols / s / 1e9, 3.0 * bytes / s / 1e9);
            }
        }
    }
}
