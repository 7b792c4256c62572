package org.redhare.server;

/**
 * A request the server answers with an OpenAI-shaped error: {@code {"error":{"message","type","param","code"}}}.
 * The message says what was wrong and what to do.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final Integer retryAfterSeconds;

    public ApiException(int status, String type, String param, String code, String message, Integer retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: the request is wrong; {@code param} names the offending field (or null). */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message, null);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, "authentication_error", null, "invalid_api_key", message, null);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "invalid_request_error", null, "not_found", message, null);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large", message, null);
    }

    public static ApiException overloaded(String message, int retryAfterSeconds) {
        return new ApiException(429, "rate_limit_error", null, "overloaded", message, retryAfterSeconds);
    }

    public static ApiException unavailable(String message, int retryAfterSeconds) {
        return new ApiException(503, "service_unavailable", null, "unavailable", message, retryAfterSeconds);
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", null, null, message, null);
    }

    public int status() { return status; }
    public String type() { return type; }
    public String param() { return param; }
    public String code() { return code; }
    public Integer retryAfterSeconds() { return retryAfterSeconds; }
}
