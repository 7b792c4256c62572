package org.redhare.bench;

/**
 * A quick look without JMH's forks (for inlining logs): {@code java --add-modules jdk.incubator.vector -cp
 * bench/target/benchmarks.jar -XX:+UnlockDiagnosticVMOptions -XX:+PrintInlining org.redhare.bench.QuickMatrixRates fp8 4864x896 1 [threads]}. Prints wall-time and thread-CPU-time rates
 * (with more than one thread, the wall-time ones count)
 */
public final class QuickMatrixRates {
    private QuickMatrixRates() {}

    public static void main(String[] args) {
        MatrixBench b = new MatrixBench();
        b.dtype = args[0];
        b.shape = args[1];
        b.n = Integer.parseInt(args[2]);
        b.threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        b.setup();
        MatrixBench.Rates r = new MatrixBench.Rates();
        // Thread CPU time as well as wall time: on a shared machine, wall time mostly measures the neighbours.
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int round = 0; round < 5; round++) {
            r.gweights = 0;
            r.gbytes = 0;
            long t0 = System.nanoTime();
            long c0 = mx.getCurrentThreadCpuTime();
            int calls = 0;
            while (System.nanoTime() - t0 < 1_000_000_000L) {
                b.multiply(r);
                calls++;
            }
            double s = (System.nanoTime() - t0) / 1e9;
            double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
            System.out.printf("%s %s n=%d: %.1f us/call, %.2f G weights/s, %.2f GB/s (wall); %.2f G weights/s, %.2f GB/s (thread CPU time)%n",
                    b.dtype, b.shape, b.n, s / calls * 1e6, r.gweights / s, r.gbytes / s, r.gweights / cpu, r.gbytes / cpu);
        }
        b.tearDown();
    }
}
