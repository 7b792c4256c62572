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
import org.redhare.core.attention.Attention;
import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;

/**
 * Attention, one thread: {@code tokens} query tokens of Qwen2.5-0.5B's shape (14 heads over 2 KV heads of 64 dims), the
 * last of a context of {@code ctx} keys (1: a decode step; more: a piece of a prompt, each token seeing the keys up to
 * its own), in each of 24 layers in turn (so, past a few hundred keys, the cache comes from memory as in a real step),
 * blocks of 16 positions in shuffled order (as a pool hands them out). The {@code gbytes} counter is GB of keys and
 * values per second (each layer's counted once per call, a Q8 cache's scales included), {@code gmacs} billions of the scores' and values'
 * multiply-adds per second. Run:
 * {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar AttentionBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AttentionBench {
    private static final int LAYERS = 24, HEADS = 14, KV_HEADS = 2, HEAD_DIM = 64, BLOCK = 16;

    @Param({"512", "4096", "16384"})
    public int ctx;

    @Param({"f32", "bf16", "f16", "q8"})
    public String kv;

    @Param({"1"})
    public int tokens;

    private PagedKvCache cache;
    private Attention attention;
    private Parallel pool;
    private int[][] tables;
    private int[] positions;
    private float[] q;
    private float[] out;

    @Setup(Level.Trial)
    public void setup() {
        Random rnd = new Random(1);
        int blocks = (ctx + BLOCK - 1) / BLOCK;
        cache = new PagedKvCache(LAYERS, blocks, BLOCK, KV_HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM, KvDtype.valueOf(kv.toUpperCase()),
                KV_HEADS);
        int[] table = new int[blocks];
        for (int b = 0; b < blocks; b++) {
            table[b] = b;
        }
        for (int b = blocks - 1; b > 0; b--) {
            int o = rnd.nextInt(b + 1);
            int t = table[b];
            table[b] = table[o];
            table[o] = t;
        }
        float[] k = new float[KV_HEADS * HEAD_DIM];
        float[] v = new float[KV_HEADS * HEAD_DIM];
        for (int l = 0; l < LAYERS; l++) {
            for (int j = 0; j < ctx; j++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) rnd.nextGaussian();
                    v[i] = (float) rnd.nextGaussian();
                }
                cache.write(l, cache.slotOf(table, j), k, 0, v, 0);
            }
        }
        attention = new Attention(HEADS, KV_HEADS, HEAD_DIM, HEAD_DIM, (float) (1 / Math.sqrt(HEAD_DIM)));
        pool = new Parallel(1);
        tables = new int[tokens][];
        positions = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            tables[t] = table;
            positions[t] = ctx - tokens + t;
        }
        q = new float[tokens * HEADS * HEAD_DIM];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rnd.nextGaussian();
        }
        out = new float[tokens * HEADS * HEAD_DIM];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        cache.close();
    }

    /** Bytes of keys and values and multiply-adds per call, for the {@code gbytes} and {@code gmacs} counters. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        public double gbytes;
        public double gmacs;
    }

    @Benchmark
    public float[] attend(Work work) {
        for (int l = 0; l < LAYERS; l++) {
            attention.forward(pool, cache, l, q, tokens, tables, positions, out);
        }
        work.gbytes += (double) LAYERS * ctx * PagedKvCache.bytesPerToken(1, KV_HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM,
                KvDtype.valueOf(kv.toUpperCase()), KV_HEADS) / 1e9;
        long keysSeen = (long) tokens * ctx - (long) tokens * (tokens - 1) / 2;
        work.gmacs += (double) LAYERS * keysSeen * HEADS * 2 * HEAD_DIM / 1e9;
        return out;
    }
}
