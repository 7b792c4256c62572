package org.redhare.server;

import java.time.Duration;

/**
 * How the HTTP server runs.
 *
 * @param apiKey                 required as {@code Authorization: Bearer KEY} on the API routes; null for none
 * @param servedModelName        the model id clients send and /v1/models lists
 * @param maxBodyBytes           larger request bodies are refused with 413
 * @param maxConcurrentRequests  generation requests in flight at most; more get 429 with Retry-After
 * @param shutdownDeadline       how long a graceful shutdown lets in-flight generations finish before cancelling them
 */
public record ServerConfig(String host, int port, String apiKey, String servedModelName, long maxBodyBytes, int maxConcurrentRequests,
                           Duration shutdownDeadline) {
    public static final long DEFAULT_MAX_BODY = 4L << 20;

    public ServerConfig {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be in [0, 65535] (0 = any free port), got " + port);
        if (servedModelName == null || servedModelName.isBlank()) throw new IllegalArgumentException("the served model name must not be empty");
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("the body size limit must be at least 1 KiB, got " + maxBodyBytes);
        if (maxConcurrentRequests < 1) throw new IllegalArgumentException("the concurrent request limit must be positive, got " + maxConcurrentRequests);
        if (apiKey != null && apiKey.isBlank()) apiKey = null;
    }

    public static ServerConfig local(String modelName) {
        return new ServerConfig("127.0.0.1", 0, null, modelName, DEFAULT_MAX_BODY, 256, Duration.ofSeconds(10));
    }

    public ServerConfig withApiKey(String key) {
        return new ServerConfig(host, port, key, servedModelName, maxBodyBytes, maxConcurrentRequests, shutdownDeadline);
    }

    public ServerConfig withMaxConcurrentRequests(int n) {
        return new ServerConfig(host, port, apiKey, servedModelName, maxBodyBytes, n, shutdownDeadline);
    }
}
