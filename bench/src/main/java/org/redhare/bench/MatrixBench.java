package org.redhare.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;
import org.redhare.core.DType;
import org.redhare.core.matrix.AffineBlockMatrix;
import org.redhare.core.matrix.Bf16Matrix;
import org.redhare.core.matrix.BlockIntMatrix;
import org.redhare.core.matrix.F16Matrix;
import org.redhare.core.matrix.F32Matrix;
import org.redhare.core.matrix.IQ4_XSIntMatrix;
import org.redhare.core.matrix.Q2_KIntMatrix;
import org.redhare.core.matrix.Q3_KIntMatrix;
import org.redhare.core.matrix.Q4_KIntMatrix;
import org.redhare.core.matrix.Q4_KMatrix;
import org.redhare.core.matrix.Q5_0Matrix;
import org.redhare.core.matrix.Q5_KMatrix;
import org.redhare.core.matrix.Q6_KMatrix;
import org.redhare.core.matrix.Q8_0IntMatrix;
import org.redhare.core.matrix.Q8_0Matrix;
import org.redhare.core.matrix.Quantizers;
import org.redhare.core.matrix.WeightMatrix;

/**
 * Weight-matrix kernels, one thread: gemv (n = 1, decode) and gemm (n = 16, 64: prefill / batched decode)
 * per stored dtype at Qwen2.5-0.5B's MLP shapes. Besides calls per second, the {@code gweights} counter is
 * billions of weights multiplied per second (rows x cols x n) and {@code gbytes} is GB of weight data read
 * per second (one pass per call). Run:
 * {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar MatrixBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatrixBench {
    @Param({"bf16", "f16", "fp8", "q8_0", "q4_0", "q5_0", "q4_k", "q5_k", "q6_k", "iq4_xs", "q3_k", "q2_k"})
    public String dtype;

    @Param({"4864x896", "896x4864"})
    public String shape;

    @Param({"1", "16", "64"})
    public int n;

    /** Worker threads (1 for JMH runs; {@link QuickMatrixRates} takes it as an optional fourth argument). */
    public int threads = 1;

    private WeightMatrix m;
    private Parallel pool;
    private float[] x;
    private float[] y;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        int rows = Integer.parseInt(p[0]);
        int cols = Integer.parseInt(p[1]);
        Random rnd = new Random(1);
        m = matrix(dtype, rows, cols, rnd);
        pool = new Parallel(threads);
        x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        y = new float[n * rows];
    }

    /** A random matrix of {@code dtype} (one of the {@code dtype} parameter's values), weights drawn from {@code rnd}. */
    static WeightMatrix matrix(String dtype, int rows, int cols, Random rnd) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        return switch (dtype) {
            case "f32" -> {
                MemorySegment seg = Arena.ofAuto().allocate((long) w.length * 4, 64);
                MemorySegment.copy(w, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, w.length);
                yield new F32Matrix(seg, rows, cols);
            }
            case "bf16" -> new Bf16Matrix(halves(w, 1, Numbers::floatToBf16), rows, cols);
            // f16x64: the same weights times 64, so none is below F16's smallest normal (2^-14); shows what subnormal halves cost
            case "f16", "f16x64" -> new F16Matrix(halves(w, dtype.equals("f16") ? 1 : 64, Float::floatToFloat16), rows, cols);
            case "fp8" -> Quantizers.fp8(w, rows, cols);
            case "q8_0" -> { // as a file loads here (in integers where the machine code runs); q8_0_float always through Q8_0Matrix
                if (!Q8_0IntMatrix.runsHere()) {
                    yield Quantizers.q8_0(w, rows, cols);
                }
                MemorySegment blocks = Arena.ofAuto().allocate((long) rows * (cols / 32) * 34, 64);
                for (int r = 0; r < rows; r++) {
                    Quantizers.encodeQ8_0(w, r * cols, cols, blocks, (long) r * (cols / 32) * 34);
                }
                yield Q8_0IntMatrix.ofGgml(blocks, rows, cols);
            }
            case "q8_0_float" -> Quantizers.q8_0(w, rows, cols);
            // q4_0 and q5_0 as files load here (VNNI integers where that machine code runs); *_nibble always the 16-bit kernels
            case "q4_0" -> BlockIntMatrix.runsHere(DType.Q4_0) ? BlockIntMatrix.ofGgml(DType.Q4_0, q4_0Blocks(w, rows, cols), rows, cols)
                    : Quantizers.q4_0(w, rows, cols);
            case "q4_0_nibble" -> Quantizers.q4_0(w, rows, cols);
            case "q5_0" -> BlockIntMatrix.runsHere(DType.Q5_0) ? BlockIntMatrix.ofGgml(DType.Q5_0, q5_0Blocks(w, rows, cols), rows, cols)
                    : Q5_0Matrix.ofGgml(q5_0Blocks(w, rows, cols), rows, cols);
            case "q5_0_nibble" -> Q5_0Matrix.ofGgml(q5_0Blocks(w, rows, cols), rows, cols);
            // q4_k as a file loads here (VNNI integers where that machine code runs); q4_k_nibble always through Q4_KMatrix
            case "q4_k" -> Q4_KIntMatrix.runsHere() ? Q4_KIntMatrix.ofGgml(randomSuperBlocks(rnd, rows, cols, 144, 0, 2), rows, cols)
                    : Q4_KMatrix.ofGgml(randomSuperBlocks(rnd, rows, cols, 144, 0, 2), rows, cols);
            case "q4_k_nibble" -> Q4_KMatrix.ofGgml(randomSuperBlocks(rnd, rows, cols, 144, 0, 2), rows, cols);
            case "q5_k" -> Q5_KMatrix.runsHere() ? Q5_KMatrix.ofGgml(randomSuperBlocks(rnd, rows, cols, 176, 0, 2), rows, cols)
                    : AffineBlockMatrix.ofGgmlQ5_K(randomSuperBlocks(rnd, rows, cols, 176, 0, 2), rows, cols);
            case "q5_k_float" -> AffineBlockMatrix.ofGgmlQ5_K(randomSuperBlocks(rnd, rows, cols, 176, 0, 2), rows, cols);
            // q6_k as a file loads here (in integers where the machine code runs); q6_k_float always through Q8_0Matrix
            case "q6_k" -> Q6_KMatrix.runsHere() ? Q6_KMatrix.ofGgml(randomSuperBlocks(rnd, rows, cols, 210, 208, -1), rows, cols)
                    : Q8_0Matrix.ofGgmlQ6_K(randomSuperBlocks(rnd, rows, cols, 210, 208, -1), rows, cols);
            case "q6_k_float" -> Q8_0Matrix.ofGgmlQ6_K(randomSuperBlocks(rnd, rows, cols, 210, 208, -1), rows, cols);
            case "iq4_xs" -> IQ4_XSIntMatrix.runsHere() ? IQ4_XSIntMatrix.ofGgml(randomSuperBlocks(rnd, rows, cols, 136, 0, -1), rows, cols)
                    : Q8_0Matrix.ofGgmlIQ4_XS(randomSuperBlocks(rnd, rows, cols, 136, 0, -1), rows, cols);
            case "iq4_xs_float" -> Q8_0Matrix.ofGgmlIQ4_XS(randomSuperBlocks(rnd, rows, cols, 136, 0, -1), rows, cols);
            case "q3_k" -> Q3_KIntMatrix.runsHere() ? Q3_KIntMatrix.ofGgml(randomSuperBlocks(rnd, rows, cols, 110, 108, -1), rows, cols)
                    : Q8_0Matrix.ofGgmlQ3_K(randomSuperBlocks(rnd, rows, cols, 110, 108, -1), rows, cols);
            case "q3_k_float" -> Q8_0Matrix.ofGgmlQ3_K(randomSuperBlocks(rnd, rows, cols, 110, 108, -1), rows, cols);
            case "q2_k" -> Q2_KIntMatrix.runsHere() ? Q2_KIntMatrix.ofGgml(randomSuperBlocks(rnd, rows, cols, 84, 80, 82), rows, cols)
                    : AffineBlockMatrix.ofGgmlQ2_K(randomSuperBlocks(rnd, rows, cols, 84, 80, 82), rows, cols);
            case "q2_k_float" -> AffineBlockMatrix.ofGgmlQ2_K(randomSuperBlocks(rnd, rows, cols, 84, 80, 82), rows, cols);
            default -> throw new IllegalArgumentException("unknown dtype " + dtype);
        };
    }

    private static MemorySegment q4_0Blocks(float[] w, int rows, int cols) {
        MemorySegment blocks = Arena.ofAuto().allocate((long) rows * (cols / 32) * 18);
        for (int r = 0; r < rows; r++) {
            Quantizers.encodeQ4_0(w, r * cols, cols, blocks, (long) r * (cols / 32) * 18);
        }
        return blocks;
    }

    private static MemorySegment q5_0Blocks(float[] w, int rows, int cols) {
        MemorySegment blocks = Arena.ofAuto().allocate((long) rows * (cols / 32) * 22);
        for (int r = 0; r < rows; r++) {
            Quantizers.encodeQ5_0(w, r * cols, cols, blocks, (long) r * (cols / 32) * 22);
        }
        return blocks;
    }

    private interface ToHalf {
        short bits(float f);
    }

    private static MemorySegment halves(float[] w, float factor, ToHalf half) {
        MemorySegment seg = Arena.ofAuto().allocate((long) w.length * 2, 64);
        for (int i = 0; i < w.length; i++) {
            seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, half.bits(w[i] * factor));
        }
        return seg;
    }

    /** Random K-quant super-blocks (no quantizer for them yet) with small f16 factors at {@code d} and {@code dmin}. */
    private static MemorySegment randomSuperBlocks(Random rnd, int rows, int cols, int bytes, int d, int dmin) {
        byte[] b = new byte[rows * (cols / 256) * bytes];
        rnd.nextBytes(b);
        short h = Float.floatToFloat16(1e-4f);
        for (int o = 0; o < b.length; o += bytes) {
            b[o + d] = (byte) h;
            b[o + d + 1] = (byte) (h >> 8);
            if (dmin >= 0) {
                b[o + dmin] = (byte) h;
                b[o + dmin + 1] = (byte) (h >> 8);
            }
        }
        // Native memory, as the engine's weights are (a heap segment is another class for the kernels' vector loads;
        // see NativeMemory.plainView).
        MemorySegment m = java.lang.foreign.Arena.ofAuto().allocate(b.length, 64);
        MemorySegment.copy(b, 0, m, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, b.length);
        return m;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    /** Throughput figures, accumulated per call and divided by time by JMH. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double gweights;
        public double gbytes;
    }

    @Benchmark
    public float[] multiply(Rates rates) {
        m.multiply(pool, x, n, y);
        rates.gweights += (double) m.rows() * m.cols() * n * 1e-9;
        rates.gbytes += m.bytes() * 1e-9;
        return y;
    }
}
