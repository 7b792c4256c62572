package org.redhare.engine;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counters and gauges the engine keeps, readable from any thread (for /metrics). Counters only grow;
 * gauges ({@link #waiting()}, {@link #running()}, {@link #kvBlocksUsed()}, {@link #kvBlocksCached()})
 * are the state after the engine's latest change.
 */
public final class EngineStats {
    final AtomicLong queued = new AtomicLong();
    final AtomicLong finished = new AtomicLong();
    final AtomicLongArray finishedByReason = new AtomicLongArray(FinishReason.values().length);
    final AtomicLong preemptions = new AtomicLong();
    final AtomicLong promptTokens = new AtomicLong();
    final AtomicLong generatedTokens = new AtomicLong();
    final AtomicLong prefixQueriedTokens = new AtomicLong();
    final AtomicLong prefixHitTokens = new AtomicLong();
    final AtomicLong rejected = new AtomicLong();
    final AtomicLong draftTokens = new AtomicLong();
    final AtomicLong draftAccepted = new AtomicLong();
    final AtomicLong steps = new AtomicLong();
    final AtomicLong stepTokens = new AtomicLong();
    final AtomicLong stepNanos = new AtomicLong();
    final AtomicLong busyNanos = new AtomicLong();
    final AtomicInteger waiting = new AtomicInteger();
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger kvBlocksUsed = new AtomicInteger();
    final AtomicInteger kvBlocksCached = new AtomicInteger();
    final AtomicInteger windowBlocksUsed = new AtomicInteger();
    private final int kvBlocksTotal;
    private final int windowBlocksTotal;
    private final long startNanos = System.nanoTime();

    EngineStats(int kvBlocksTotal) {
        this(kvBlocksTotal, 0);
    }

    EngineStats(int kvBlocksTotal, int windowBlocksTotal) {
        this.kvBlocksTotal = kvBlocksTotal;
        this.windowBlocksTotal = windowBlocksTotal;
    }

    void recordStep(int tokens, long nanos) {
        steps.incrementAndGet();
        stepTokens.addAndGet(tokens);
        stepNanos.addAndGet(nanos);
    }

    /** Requests accepted by {@link Engine#submit}. */
    public long submitted() { return queued.get(); }
    /** Requests refused because the queue was full. */
    public long rejected() { return rejected.get(); }
    public long finished() { return finished.get(); }
    public long finished(FinishReason reason) { return finishedByReason.get(reason.ordinal()); }
    public long preemptions() { return preemptions.get(); }
    /** Prompt tokens of the requests started (each request counted once, however often it is preempted). */
    public long promptTokens() { return promptTokens.get(); }
    public long generatedTokens() { return generatedTokens.get(); }
    /** Tokens sequences drafted from their own text, and how many of them the model confirmed. */
    public long draftTokens() { return draftTokens.get(); }
    public long draftAccepted() { return draftAccepted.get(); }
    /** Tokens looked up in the prefix cache when sequences were admitted. */
    public long prefixQueriedTokens() { return prefixQueriedTokens.get(); }
    /** Of those, tokens whose keys/values were found cached (not computed). */
    public long prefixHitTokens() { return prefixHitTokens.get(); }
    /** Requests queued, not yet running (preempted ones included). */
    public int waiting() { return waiting.get(); }
    public int running() { return running.get(); }
    /** KV blocks held by sequences. */
    public int kvBlocksUsed() { return kvBlocksUsed.get(); }
    /** KV blocks held by no sequence but kept for prefix reuse (evicted when needed). */
    public int kvBlocksCached() { return kvBlocksCached.get(); }
    public int kvBlocksTotal() { return kvBlocksTotal; }
    /** Blocks of the sliding-window layers' own pool held by sequences (0 without that pool). */
    public int windowBlocksUsed() { return windowBlocksUsed.get(); }
    /** Blocks of the sliding-window layers' own pool ({@link EngineConfig#windowKvTokens}); 0 where they share the one pool. */
    public int windowBlocksTotal() { return windowBlocksTotal; }
    public long steps() { return steps.get(); }
    public long stepTokens() { return stepTokens.get(); }
    /** Nanoseconds in the model's forward passes. */
    public long stepNanos() { return stepNanos.get(); }
    /**
     * Nanoseconds the engine thread spent in steps that ran a batch: the forward passes plus scheduling, sampling and
     * handing tokens to their requests. {@code busyNanos - stepNanos} is what the engine adds around the model.
     */
    public long busyNanos() { return busyNanos.get(); }

    /** Seconds until the queue likely has room: waiting requests over the finish rate so far, 1 to 60. */
    int retryAfterSeconds() {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        long done = finished.get();
        if (done == 0 || seconds <= 0) {
            return 1;
        }
        double rate = done / seconds;
        return (int) Math.max(1, Math.min(60, Math.ceil(waiting.get() / rate)));
    }
}
