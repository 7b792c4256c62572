package org.redhare.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The caller's end of a submitted generation: a stream of {@link GenerationEvent}s ending with one
 * {@link GenerationEvent.Finished}. Any thread may read it or cancel it.
 */
public final class GenerationHandle {
    private final long id;
    private final BlockingQueue<GenerationEvent> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;

    GenerationHandle(long id) {
        this.id = id;
    }

    public long id() {
        return id;
    }

    void emit(GenerationEvent e) {
        events.add(e);
    }

    /** Asks the engine to stop this generation; it finishes with {@link FinishReason#CANCELLED} and frees its memory. */
    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** The next event, waiting for it. */
    public GenerationEvent next() throws InterruptedException {
        return events.take();
    }

    /** The next event, or null after the timeout. */
    public GenerationEvent poll(long timeout, TimeUnit unit) throws InterruptedException {
        return events.poll(timeout, unit);
    }

    /** Feeds every token to {@code onToken} as it arrives and returns the final event (a {@link GenerationEvent.Prompt} is skipped). */
    public GenerationEvent.Finished stream(Consumer<GenerationEvent.Token> onToken) throws InterruptedException {
        while (true) {
            GenerationEvent e = next();
            if (e instanceof GenerationEvent.Token t) {
                onToken.accept(t);
            } else if (e instanceof GenerationEvent.Finished f) {
                return f;
            }
        }
    }

    /** Waits for the end and returns all tokens and the final event. */
    public Result await() throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        GenerationEvent.Finished f = stream(t -> ids.add(t.id()));
        return new Result(ids.stream().mapToInt(Integer::intValue).toArray(), f);
    }

    public record Result(int[] tokens, GenerationEvent.Finished finished) {}

    /** For an {@link Engine#embed embedding}: waits for the end and returns the vector (null if none came: cancelled, failed). */
    public EmbeddingResult awaitEmbedding() throws InterruptedException {
        float[] vector = null;
        while (true) {
            GenerationEvent e = next();
            if (e instanceof GenerationEvent.Embedding v) {
                vector = v.vector();
            } else if (e instanceof GenerationEvent.Finished f) {
                return new EmbeddingResult(vector, f);
            }
        }
    }

    public record EmbeddingResult(float[] vector, GenerationEvent.Finished finished) {}
}
