package org.redhare.engine;

/**
 * The engine's queue is full: the request was not accepted. Retry after {@link #retryAfterSeconds()}
 * (an HTTP server answers 503 or 429 with a {@code Retry-After} header).
 */
public class EngineOverloadedException extends RuntimeException {
    private final int retryAfterSeconds;

    public EngineOverloadedException(String message, int retryAfterSeconds) {
        super(message);
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** A hint, in whole seconds (at least 1), of when the queue is likely to have room. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
