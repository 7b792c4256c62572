package org.redhare.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;
import org.redhare.engine.Engine;

/** The server's Prometheus metrics (Micrometer), scraped at GET /metrics. */
final class ServerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicReference<Engine> engine = new AtomicReference<>();
    private final Timer ttft;
    private final Timer tpot;
    private final Counter generatedTokens;
    private final Counter promptTokens;
    private final DistributionSummary tokensPerRequest;
    // Generation throughput over the interval between two scrapes (at least one second apart).
    private long rateMarkNanos = System.nanoTime();
    private double rateMarkTokens;
    private volatile double tokensPerSecond;

    ServerMetrics() {
        ttft = Timer.builder("redhare_time_to_first_token").description("time from request to its first generated token")
                .publishPercentiles(0.5, 0.99).publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(5)).register(registry);
        tpot = Timer.builder("redhare_time_per_output_token").description("mean time between generated tokens of one request")
                .publishPercentiles(0.5, 0.99).publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
        generatedTokens = Counter.builder("redhare_generation_tokens").description("tokens generated").register(registry);
        promptTokens = Counter.builder("redhare_prompt_tokens").description("prompt tokens submitted").register(registry);
        tokensPerRequest = DistributionSummary.builder("redhare_request_generation_tokens").description("tokens generated per choice")
                .register(registry);
        Gauge.builder("redhare_requests_in_flight", inFlight, AtomicInteger::get).description("HTTP generation requests being served")
                .register(registry);
        engineGauge("redhare_queue_waiting", "requests queued in the engine, not yet running (preempted ones included)",
                e -> e.stats().waiting());
        engineGauge("redhare_sequences_running", "sequences the engine is running (decoding or prefilling)", e -> e.stats().running());
        engineGauge("redhare_engine_sequences_unfinished", "sequences submitted and not finished (waiting plus running)",
                e -> e.stats().submitted() - e.stats().finished());
        engineGauge("redhare_kv_blocks_used", "KV cache blocks held by sequences", e -> e.stats().kvBlocksUsed());
        engineGauge("redhare_kv_blocks_cached", "KV cache blocks held by no sequence, kept for prefix reuse", e -> e.stats().kvBlocksCached());
        engineGauge("redhare_kv_blocks_capacity", "KV cache blocks in the pool", e -> e.stats().kvBlocksTotal());
        engineGauge("redhare_kv_window_blocks_used", "blocks of the sliding-window layers' own KV pool held by sequences (0 without it)",
                e -> e.stats().windowBlocksUsed());
        engineGauge("redhare_kv_window_blocks_capacity", "blocks of the sliding-window layers' own KV pool (0: they share the pool)",
                e -> e.stats().windowBlocksTotal());
        engineGauge("redhare_kv_cache_usage_ratio", "fraction of the KV cache blocks held by sequences",
                e -> e.stats().kvBlocksUsed() / (double) Math.max(1, e.stats().kvBlocksTotal()));
        engineGauge("redhare_prefix_cache_queried_tokens", "prompt tokens looked up in the prefix cache (cumulative)",
                e -> e.stats().prefixQueriedTokens());
        engineGauge("redhare_prefix_cache_hit_tokens", "prompt tokens found in the prefix cache, not computed (cumulative)",
                e -> e.stats().prefixHitTokens());
        // Hits over lookups since start; 0 before any lookup so dashboards do not show a gap.
        engineGauge("redhare_prefix_cache_hit_rate", "fraction of looked-up prompt tokens found in the prefix cache",
                e -> e.stats().prefixQueriedTokens() == 0 ? 0 : e.stats().prefixHitTokens() / (double) e.stats().prefixQueriedTokens());
        engineGauge("redhare_engine_preemptions", "sequences preempted for lack of KV blocks (cumulative)", e -> e.stats().preemptions());
        engineGauge("redhare_engine_rejected", "requests refused because the engine queue was full (cumulative)", e -> e.stats().rejected());
        engineGauge("redhare_draft_tokens", "tokens sequences drafted from their own text (--draft-tokens; cumulative)",
                e -> e.stats().draftTokens());
        engineGauge("redhare_draft_accepted_tokens", "drafted tokens the model confirmed, each a decode step saved (cumulative)",
                e -> e.stats().draftAccepted());
        engineGauge("redhare_engine_steps", "batches the engine has run through the model (cumulative)", e -> e.stats().steps());
        engineGauge("redhare_engine_step_tokens", "tokens those batches held, prompt and decoded (cumulative)", e -> e.stats().stepTokens());
        engineGauge("redhare_engine_forward_seconds", "seconds in the model's forward passes (cumulative)", e -> e.stats().stepNanos() / 1e9);
        engineGauge("redhare_engine_busy_seconds", "seconds in engine steps: the forward passes plus scheduling, sampling and"
                + " handing tokens out (cumulative)", e -> e.stats().busyNanos() / 1e9);
        Gauge.builder("redhare_generation_tokens_per_second", this, m -> m.tokensPerSecond)
                .description("tokens generated per second between the last two scrapes").register(registry);
    }

    private void engineGauge(String name, String help, ToDoubleFunction<Engine> f) {
        Gauge.builder(name, engine, r -> r.get() == null ? Double.NaN : f.applyAsDouble(r.get())).description(help).register(registry);
    }

    void attach(Engine e) {
        engine.set(e);
    }

    void request(String endpoint, int status) {
        Counter.builder("redhare_requests").description("HTTP requests by endpoint and status").tag("endpoint", endpoint)
                .tag("status", String.valueOf(status)).register(registry).increment();
    }

    int enter() {
        return inFlight.incrementAndGet();
    }

    void exit() {
        inFlight.decrementAndGet();
    }

    int inFlight() {
        return inFlight.get();
    }

    void timeToFirstToken(long nanos) {
        ttft.record(nanos, TimeUnit.NANOSECONDS);
    }

    void timePerOutputToken(long nanos) {
        tpot.record(nanos, TimeUnit.NANOSECONDS);
    }

    void generated(int tokens) {
        generatedTokens.increment(tokens);
        tokensPerRequest.record(tokens);
    }

    void prompt(int tokens) {
        promptTokens.increment(tokens);
    }

    synchronized String scrape() {
        long now = System.nanoTime();
        double total = generatedTokens.count();
        if (now - rateMarkNanos >= 1_000_000_000L) {
            tokensPerSecond = (total - rateMarkTokens) * 1e9 / (now - rateMarkNanos);
            rateMarkNanos = now;
            rateMarkTokens = total;
        }
        return registry.scrape();
    }
}
