package org.redhare.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench-serve", mixinStandardHelpOptions = true,
        description = "Load-test a running server: time to first token, time per output token and throughput per concurrency level.")
final class BenchServeCommand implements Callable<Integer> {
    @Option(names = "--url", required = true, description = "server base URL, e.g. http://127.0.0.1:8080")
    String url;

    @Option(names = "--concurrency", defaultValue = "1,4,16", split = ",", description = "concurrent requests per level (default ${DEFAULT-VALUE})")
    int[] concurrency;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "prompt length in tokens (default ${DEFAULT-VALUE})")
    int promptTokens;

    @Option(names = "--output-tokens", defaultValue = "64", description = "tokens generated per request (default ${DEFAULT-VALUE})")
    int outputTokens;

    @Option(names = "--requests", description = "requests per level (default: 4 x concurrency, at least 8)")
    Integer requests;

    @Option(names = "--api-key", paramLabel = "KEY", description = "API key, if the server requires one")
    String apiKey;

    @Option(names = "--json", description = "print the results as JSON instead of a table")
    boolean json;

    @Option(names = "--seed", defaultValue = "1", description = "seed for the random prompts (default ${DEFAULT-VALUE})")
    long seed;

    private final ObjectMapper mapper = new ObjectMapper();

    /** One request's timings. */
    record Sample(double ttftMs, double tpotMs, int tokens, boolean ok, String error) {}

    record Level(int concurrency, int requests, int failed, double seconds, double ttftMedianMs, double ttftP99Ms, double tpotMedianMs,
                 double tpotP99Ms, double requestsPerSecond, double outputTokensPerSecond, long outputTokens, Engine engine) {}

    /**
     * What a RedHare server's engine did during a level, from its /metrics before and after (null for other servers): mean
     * tokens per batch, and the shares of the level's wall time the engine spent in steps ({@code busy}) and, within them,
     * in the model's forward passes ({@code forward}). Busy well below 1 means the engine waited for requests (the client
     * or the HTTP side is the bound); busy well above forward means time went to scheduling and sampling.
     */
    record Engine(double tokensPerStep, double busyShare, double forwardShare) {}

    private static final String[] ENGINE_METRICS = {"redhare_engine_steps", "redhare_engine_step_tokens", "redhare_engine_busy_seconds",
            "redhare_engine_forward_seconds"};

    /** The engine counters of a RedHare server's /metrics, or null when it has none (another server, or none reachable). */
    private double[] engineCounters(HttpClient http, String base) {
        try {
            HttpResponse<String> r = http.send(auth(HttpRequest.newBuilder(URI.create(base + "/metrics"))).timeout(Duration.ofSeconds(10))
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) return null;
            double[] v = new double[ENGINE_METRICS.length];
            Arrays.fill(v, Double.NaN);
            for (String line : r.body().split("\n")) {
                for (int i = 0; i < v.length; i++) {
                    if (line.startsWith(ENGINE_METRICS[i] + " ")) v[i] = Double.parseDouble(line.substring(ENGINE_METRICS[i].length() + 1).trim());
                }
            }
            return Arrays.stream(v).anyMatch(Double::isNaN) ? null : v;
        } catch (Exception e) {
            return null;
        }
    }

    static Engine engineDuring(double[] before, double[] after, double seconds) {
        if (before == null || after == null || seconds <= 0) return null;
        double steps = after[0] - before[0];
        return new Engine(steps > 0 ? (after[1] - before[1]) / steps : 0, (after[2] - before[2]) / seconds, (after[3] - before[3]) / seconds);
    }

    @Override
    public Integer call() throws Exception {
        if (promptTokens < 1 || outputTokens < 1) throw CliException.usage("--prompt-tokens and --output-tokens must be at least 1");
        for (int c : concurrency) {
            if (c < 1 || c > 4096) throw CliException.usage("--concurrency levels must be in [1, 4096], got " + c);
        }
        String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        String model = modelName(http, base);
        Random rnd = new Random(seed);
        // Warm-up: compiles the hot paths on both sides before anything is measured. One request, then a burst at the
        // highest level's concurrency: a batch of many sequences runs other kernels than one sequence does (several-token
        // matrix paths), and a level that met them cold measured its first seconds under compilation (c16 after c1: TPOT
        // 98-102 ms against 88 for the model's own 16-sequence step; docs/PERFORMANCE.md, forty-third session).
        Sample warm = one(http, base, model, prompt(rnd));
        if (!warm.ok()) throw CliException.failure("the warm-up request failed: " + warm.error());
        int most = Arrays.stream(concurrency).max().orElse(1);
        if (most > 1) {
            List<int[]> burst = new ArrayList<>();
            for (int i = 0; i < most; i++) burst.add(prompt(rnd));
            for (Sample s : run(http, base, model, burst, most)) {
                if (!s.ok()) throw CliException.failure("a warm-up request failed: " + s.error());
            }
        }
        List<Level> levels = new ArrayList<>();
        for (int c : concurrency) {
            int n = requests != null ? requests : Math.max(8, 4 * c);
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < n; i++) prompts.add(prompt(rnd));
            double[] before = engineCounters(http, base);
            long t0 = System.nanoTime();
            List<Sample> samples = run(http, base, model, prompts, c);
            double secs = (System.nanoTime() - t0) / 1e9;
            levels.add(summarize(c, samples, secs, engineDuring(before, engineCounters(http, base), secs)));
            if (!json) Progress.info(String.format(Locale.ROOT, "concurrency %d: %d requests in %.1f s", c, n, secs));
        }
        print(levels);
        return levels.stream().anyMatch(l -> l.failed() > 0) ? 1 : 0;
    }

    /** The prompts' requests, {@code c} at a time, each client sending its next as soon as its last one ends. */
    private List<Sample> run(HttpClient http, String base, String model, List<int[]> prompts, int c) throws Exception {
        AtomicInteger next = new AtomicInteger();
        List<Sample> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> fs = new ArrayList<>();
            for (int w = 0; w < c; w++) {
                fs.add(ex.submit(() -> {
                    int i;
                    while ((i = next.getAndIncrement()) < prompts.size()) {
                        samples.add(one(http, base, model, prompts.get(i)));
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
        }
        return samples;
    }

    private int[] prompt(Random rnd) {
        int[] ids = new int[promptTokens];
        // Ids every vocabulary has and no tokenizer treats as special (they sit among ordinary merges).
        for (int i = 0; i < ids.length; i++) ids[i] = 300 + rnd.nextInt(700);
        return ids;
    }

    private String modelName(HttpClient http, String base) throws Exception {
        HttpResponse<String> r = http.send(auth(HttpRequest.newBuilder(URI.create(base + "/v1/models"))).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw CliException.failure("GET " + base + "/v1/models answered " + r.statusCode() + ": " + r.body());
        }
        return mapper.readTree(r.body()).path("data").path(0).path("id").asText();
    }

    private HttpRequest.Builder auth(HttpRequest.Builder b) {
        return apiKey != null ? b.header("Authorization", "Bearer " + apiKey) : b;
    }

    private Sample one(HttpClient http, String base, String model, int[] prompt) {
        ObjectNode body = mapper.createObjectNode();
        body.put("model", model);
        ArrayNode p = body.putArray("prompt");
        for (int id : prompt) p.add(id);
        body.put("max_tokens", outputTokens);
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        long t0 = System.nanoTime();
        try {
            HttpRequest req = auth(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))).timeout(Duration.ofMinutes(30))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(mapper.writeValueAsString(body))).build();
            HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            if (r.statusCode() != 200) {
                return new Sample(0, 0, 0, false, "HTTP " + r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
            }
            long first = 0;
            long last = 0;
            int tokens = 0;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.startsWith("data: ")) continue;
                    String data = line.substring(6);
                    if (data.equals("[DONE]")) break;
                    JsonNode o = mapper.readTree(data);
                    if (o.has("error")) return new Sample(0, 0, 0, false, o.get("error").path("message").asText());
                    if (o.path("usage").has("completion_tokens")) tokens = o.path("usage").path("completion_tokens").asInt();
                    if (o.path("choices").size() > 0) {
                        long now = System.nanoTime();
                        if (first == 0) first = now;
                        last = now;
                    }
                }
            }
            if (first == 0) return new Sample(0, 0, 0, false, "the stream carried no tokens");
            double ttft = (first - t0) / 1e6;
            double tpot = tokens > 1 ? (last - first) / 1e6 / (tokens - 1) : 0;
            return new Sample(ttft, tpot, tokens, true, null);
        } catch (Exception e) {
            return new Sample(0, 0, 0, false, e.toString());
        }
    }

    private static Level summarize(int c, List<Sample> samples, double secs, Engine engine) {
        List<Sample> ok = samples.stream().filter(Sample::ok).toList();
        double[] ttft = ok.stream().mapToDouble(Sample::ttftMs).sorted().toArray();
        double[] tpot = ok.stream().filter(s -> s.tokens() > 1).mapToDouble(Sample::tpotMs).sorted().toArray();
        long tokens = ok.stream().mapToLong(Sample::tokens).sum();
        samples.stream().filter(s -> !s.ok()).limit(3).forEach(s -> Progress.info("request failed: " + s.error()));
        return new Level(c, samples.size(), samples.size() - ok.size(), secs, pct(ttft, 50), pct(ttft, 99), pct(tpot, 50), pct(tpot, 99),
                ok.size() / secs, tokens / secs, tokens, engine);
    }

    /** Nearest-rank percentile of sorted values; NaN when empty. */
    static double pct(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
    }

    private void print(List<Level> levels) throws Exception {
        if (json) {
            ObjectNode o = mapper.createObjectNode();
            o.put("url", url);
            o.put("prompt_tokens", promptTokens);
            o.put("output_tokens", outputTokens);
            ArrayNode arr = o.putArray("levels");
            for (Level l : levels) {
                ObjectNode x = arr.addObject();
                x.put("concurrency", l.concurrency());
                x.put("requests", l.requests());
                x.put("failed", l.failed());
                x.put("seconds", l.seconds());
                x.put("ttft_median_ms", l.ttftMedianMs());
                x.put("ttft_p99_ms", l.ttftP99Ms());
                x.put("tpot_median_ms", l.tpotMedianMs());
                x.put("tpot_p99_ms", l.tpotP99Ms());
                x.put("requests_per_second", l.requestsPerSecond());
                x.put("output_tokens_per_second", l.outputTokensPerSecond());
                x.put("output_tokens", l.outputTokens());
                if (l.engine() != null) {
                    ObjectNode e = x.putObject("engine");
                    e.put("tokens_per_step", l.engine().tokensPerStep());
                    e.put("busy_share", l.engine().busyShare());
                    e.put("forward_share", l.engine().forwardShare());
                }
            }
            System.out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(o));
            return;
        }
        System.out.printf(Locale.ROOT, "prompt %d tokens, output %d tokens%n", promptTokens, outputTokens);
        System.out.printf(Locale.ROOT, "%11s %8s %6s %12s %12s %12s %12s %9s %10s %9s %7s %8s%n", "concurrency", "requests", "failed", "TTFT p50 ms",
                "TTFT p99 ms", "TPOT p50 ms", "TPOT p99 ms", "req/s", "out tok/s", "tok/step", "busy", "forward");
        for (Level l : levels) {
            Engine e = l.engine();
            System.out.printf(Locale.ROOT, "%11d %8d %6d %12.1f %12.1f %12.1f %12.1f %9.2f %10.1f %9s %7s %8s%n", l.concurrency(), l.requests(), l.failed(),
                    l.ttftMedianMs(), l.ttftP99Ms(), l.tpotMedianMs(), l.tpotP99Ms(), l.requestsPerSecond(), l.outputTokensPerSecond(),
                    e == null ? "-" : String.format(Locale.ROOT, "%.1f", e.tokensPerStep()),
                    e == null ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * e.busyShare()),
                    e == null ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * e.forwardShare()));
        }
        if (levels.stream().anyMatch(l -> l.engine() != null)) {
            System.out.println("tok/step: tokens per engine batch; busy: share of the level's time the engine ran steps; forward: of it, in the model");
        }
    }

    static int[] parse(String s) {
        return Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
