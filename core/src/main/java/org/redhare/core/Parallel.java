package org.redhare.core;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One persistent pool of worker threads for the kernels. The calling thread takes part in every job,
 * so {@code new Parallel(1)} runs everything on the caller with no hand-off at all.
 *
 * <p>Work is handed out as chunks claimed from an atomic counter, so a thread that runs slower (the
 * two vCPUs of a small machine often share one core) simply claims fewer chunks. Workers spin briefly
 * for the next job, then park; a job costs no allocation. Only one thread may submit jobs at a time
 * (the engine thread owns the pool).
 */
public final class Parallel implements AutoCloseable {

    /** Body of a parallel loop over chunks: process items {@code [start, end)} as worker {@code worker}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end, int worker);
    }

    private static final int SPIN_ITERATIONS = 20_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger nextStart = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long generation;
    private volatile boolean closed;
    private volatile Thread submitter;
    // Current job (published by the volatile write of generation).
    private RangeBody body;
    private int total;
    private int chunk;
    private int align;
    private volatile Throwable failure;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workerScratch = new float[threads][0];
        this.workerShorts = new short[threads][0];
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int index = i + 1;
            Thread t = new Thread(() -> workerLoop(index), "redhare-worker-" + index);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    private Parallel[] alone; // one-thread pools, one per worker (null until asked for)

    /**
     * A pool of one thread (the caller's) for worker {@code worker} of this pool, with scratch buffers of its own: for
     * work that a job hands to each worker whole, such as a mixture's experts, each run by one worker from start to end.
     * The same pool for the same worker every time. This pool itself when it has one thread. Created on first use, from
     * the submitting thread only (outside a job).
     */
    public Parallel alone(int worker) {
        if (threads == 1) {
            return this;
        }
        Parallel[] a = alone;
        if (a == null) {
            a = new Parallel[threads];
            for (int i = 0; i < threads; i++) {
                a[i] = new Parallel(1);
            }
            alone = a;
        }
        return a[worker];
    }

    /** A pool sized to the available processors. */
    public static Parallel ofAvailableProcessors() {
        return new Parallel(Runtime.getRuntime().availableProcessors());
    }

    public int threads() {
        return threads;
    }

    private float[] scratch = new float[0];

    /**
     * The smallest scratch array, in floats: under G1, just over half a heap region, so that G1 allocates every scratch
     * array as a humongous object, at the start of its own regions, where young collections leave it. The kernels'
     * tiles and panels then sit at the same addresses relative to each other (modulo a page) in every process and for
     * the whole run. Ordinary arrays land anywhere and collections move them, and the matmul kernels' speed moved
     * with them by up to 25% (docs/PERFORMANCE.md, thirteenth session). Costs half a region (1 MiB by default) per
     * array. Zero under other collectors.
     */
    static final int MIN_SCRATCH_FLOATS = humongousFloats();

    private static int humongousFloats() {
        try {
            com.sun.management.HotSpotDiagnosticMXBean vm =
                    java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            if (!Boolean.parseBoolean(vm.getVMOption("UseG1GC").getValue())) {
                return 0;
            }
            long region = Long.parseLong(vm.getVMOption("G1HeapRegionSize").getValue());
            return (int) Math.min(region / 2 / Float.BYTES + 16, 1 << 24);
        } catch (RuntimeException | LinkageError e) { // not HotSpot, or no management module: keep plain arrays
            return 0;
        }
    }

    /**
     * A reusable float buffer of at least {@code minLength} for the submitting thread (kernels use it
     * for reordered activations). Valid until the next call; never touched by workers unless handed
     * to them within one job.
     */
    public float[] scratch(int minLength) {
        if (scratch.length < minLength) {
            scratch = new float[Math.max(MIN_SCRATCH_FLOATS, Math.max(minLength, scratch.length + scratch.length / 2))];
        }
        return scratch;
    }

    private final float[][] workerScratch;

    /**
     * A float buffer of at least {@code minLength} owned by worker {@code worker} (the index a
     * {@link RangeBody} receives), for per-thread tiles inside a job. Only that worker may use it.
     */
    public float[] workerScratch(int worker, int minLength) {
        float[] b = workerScratch[worker];
        if (b.length < minLength) {
            b = new float[Math.max(MIN_SCRATCH_FLOATS, minLength)];
            workerScratch[worker] = b;
        }
        return b;
    }

    private short[] shorts = new short[0];
    private final short[][] workerShorts;

    /** Like {@link #scratch}, for int16 data (quantized activations); at least as large as the float minimum, in bytes. */
    public short[] shortScratch(int minLength) {
        if (shorts.length < minLength) {
            shorts = new short[Math.max(2 * MIN_SCRATCH_FLOATS, Math.max(minLength, shorts.length + shorts.length / 2))];
        }
        return shorts;
    }

    /** Like {@link #workerScratch}, for int16 data. */
    public short[] workerShortScratch(int worker, int minLength) {
        short[] b = workerShorts[worker];
        if (b.length < minLength) {
            b = new short[Math.max(2 * MIN_SCRATCH_FLOATS, minLength)];
            workerShorts[worker] = b;
        }
        return b;
    }

    /**
     * {@link #forRange(int, int, RangeBody)} when no job of this pool is running; called from inside one (a body that
     * wants a parallel loop of its own, such as a quantizer reached while a mixture's experts load on every thread), the
     * whole range runs on the calling thread as worker 0's chunk instead. For bodies that use no per-worker scratch: the
     * calling thread may be any worker.
     */
    public void forRangeIfIdle(int n, int grain, RangeBody body) {
        if (running) {
            if (n > 0) {
                body.run(0, n, 0);
            }
            return;
        }
        forRange(n, grain, body);
    }

    /** {@code pool.forRangeIfIdle(n, grain, body)}, or the whole range on the calling thread when {@code pool} is null. */
    public static void forRangeIfIdle(Parallel pool, int n, int grain, RangeBody body) {
        if (pool != null) {
            pool.forRangeIfIdle(n, grain, body);
        } else if (n > 0) {
            body.run(0, n, 0);
        }
    }

    /** Set while a job of {@link #forRange} runs (by the submitting thread, before the workers see the job). */
    private volatile boolean running;

    /**
     * Runs {@code body} over {@code [0, n)} in chunks of {@code grain} items (the last may be shorter),
     * spread over all threads. Returns when every chunk is done; rethrows the first failure.
     */
    public void forRange(int n, int grain, RangeBody body) {
        forRange(n, grain, grain, body);
    }

    /**
     * Like {@link #forRange(int, int, RangeBody)}, but chunks shrink towards the end of the range: each claim
     * takes {@code grain} items, or a 2x-threads share of what is left once that is smaller, down to
     * {@code align} items (chunks start at multiples of {@code align}; the last may be shorter). With fixed
     * chunks, the threads finish up to one chunk apart; shrinking ones make that up to {@code align} items.
     */
    public void forRange(int n, int grain, int align, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int a = Math.max(1, align);
        int g = Math.max(a, (grain + a - 1) / a * a); // a multiple of align, so every chunk starts on one
        if (threads == 1 || n <= g) {
            body.run(0, n, 0);
            return;
        }
        running = true;
        this.body = body;
        this.total = n;
        this.chunk = g;
        this.align = a;
        this.failure = null;
        this.submitter = Thread.currentThread();
        nextStart.set(0);
        pending.set(workers.length);
        generation = generation + 1; // publish
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        runChunks(0);
        // Wait for the workers to finish their last chunks.
        int spins = 0;
        while (pending.get() != 0) {
            if (++spins < SPIN_ITERATIONS) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(50_000);
            }
        }
        this.body = null;
        running = false;
        Throwable f = failure;
        if (f != null) {
            if (f instanceof RuntimeException re) throw re;
            if (f instanceof Error e) throw e;
            throw new IllegalStateException(f);
        }
    }

    /** Splits {@code [0, n)} into about four chunks per thread, each a multiple of {@code align}. */
    public void forRangeBalanced(int n, int align, RangeBody body) {
        int perThread = (n + threads * 4 - 1) / (threads * 4);
        int g = Math.max(align, (perThread + align - 1) / align * align);
        forRange(n, g, body);
    }

    private void runChunks(int worker) {
        RangeBody b = body;
        int n = total;
        int g = chunk;
        int a = align;
        int share = 2 * threads;
        while (true) {
            int start = nextStart.get();
            if (start >= n) {
                return;
            }
            int size = g;
            if (a < g) {
                size = Math.max(a, Math.min(g, (n - start) / share / a * a));
            }
            int end = (int) Math.min(n, (long) start + size);
            if (!nextStart.compareAndSet(start, end)) {
                continue;
            }
            try {
                b.run(start, end, worker);
            } catch (Throwable t) {
                if (failure == null) {
                    failure = t;
                }
            }
        }
    }

    private void workerLoop(int index) {
        long seen = 0;
        while (!closed) {
            long gen = generation;
            if (gen == seen) {
                int spins = 0;
                while (generation == seen && !closed) {
                    if (++spins < SPIN_ITERATIONS) {
                        Thread.onSpinWait();
                    } else {
                        LockSupport.park(this);
                    }
                }
                continue;
            }
            seen = gen;
            runChunks(index);
            if (pending.decrementAndGet() == 0) {
                Thread s = submitter;
                if (s != null) {
                    LockSupport.unpark(s);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
