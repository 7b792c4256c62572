package org.redhare.server;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Server-sent events written to a response body: each flushed as soon as it is written. */
final class ServerSentEvents {
    private final OutputStream out;

    ServerSentEvents(OutputStream out) {
        this.out = out;
    }

    /** {@code event: TYPE} (when {@code type} is not null) then {@code data: DATA}. */
    synchronized void send(String type, String data) throws IOException {
        String head = type != null ? "event: " + type + "\n" : "";
        out.write((head + "data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** A comment line: nothing for the client, but a gone client is noticed when it fails. */
    synchronized void keepAlive() throws IOException {
        out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /**
     * Ends the body. Closing completes the response (the last event goes out) before the request counts as finished:
     * a shutdown that stops Jetty once nothing is in flight must not cut it off.
     */
    synchronized void close() throws IOException {
        out.close();
    }
}
