package org.redhare.engine;

import java.util.concurrent.atomic.AtomicLong;

/** Counters the engine keeps (read from any thread). */
public final class EngineStats {
    final AtomicLong queued = new AtomicLong();
    final AtomicLong finished = new AtomicLong();
    final AtomicLong preemptions = new AtomicLong();
    final AtomicLong generatedTokens = new AtomicLong();
    final AtomicLong steps = new AtomicLong();
    final AtomicLong stepTokens = new AtomicLong();
    final AtomicLong stepNanos = new AtomicLong();

    void recordStep(int tokens, long nanos) {
        steps.incrementAndGet();
        stepTokens.addAndGet(tokens);
        stepNanos.addAndGet(nanos);
    }

    public long submitted() { return queued.get(); }
    public long finished() { return finished.get(); }
    public long preemptions() { return preemptions.get(); }
    public long generatedTokens() { return generatedTokens.get(); }
    public long steps() { return steps.get(); }
    public long stepTokens() { return stepTokens.get(); }
    public long stepNanos() { return stepNanos.get(); }
}
