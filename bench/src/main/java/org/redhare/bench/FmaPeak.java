package org.redhare.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The FMA ceiling the prompt kernels are measured against: twelve independent chains of float FMAs on the preferred
 * species, no memory traffic, printed as G multiply-adds per second for one thread. Run two at once to see whether the
 * machine's vCPUs share FMA units: {@code java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar
 * org.redhare.bench.FmaPeak}. Twelve chains cover four-cycle latency at two FMAs per cycle with room to spare and fit
 * 16 vector registers with the two operands.
 */
public final class FmaPeak {
    private FmaPeak() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    static float chains(float[] a, long iterations) {
        FloatVector x = FloatVector.fromArray(F, a, 0), y = FloatVector.fromArray(F, a, F.length());
        FloatVector c0 = x, c1 = y, c2 = x, c3 = y, c4 = x, c5 = y, c6 = x, c7 = y, c8 = x, c9 = y, c10 = x, c11 = y;
        for (long i = 0; i < iterations; i++) {
            c0 = c0.fma(x, y); c1 = c1.fma(x, y); c2 = c2.fma(x, y); c3 = c3.fma(x, y);
            c4 = c4.fma(x, y); c5 = c5.fma(x, y); c6 = c6.fma(x, y); c7 = c7.fma(x, y);
            c8 = c8.fma(x, y); c9 = c9.fma(x, y); c10 = c10.fma(x, y); c11 = c11.fma(x, y);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(VectorOperators.ADD);
    }

    public static void main(String[] args) {
        float[] a = new float[2 * F.length()];
        java.util.Arrays.fill(a, 0.5f); // c = c * 0.5 + 0.5 stays at 1: no overflow, no subnormals
        long iterations = 100_000_000L;
        for (int round = 0; round < 6; round++) {
            long t0 = System.nanoTime();
            float r = chains(a, iterations);
            long t1 = System.nanoTime();
            double macs = iterations * 12.0 * F.length();
            System.out.printf("%.1f G multiply-adds/s, %d lanes (%s)%n", macs / (t1 - t0), F.length(), r == 12 * F.length() ? "ok" : "check " + r);
        }
    }
}
