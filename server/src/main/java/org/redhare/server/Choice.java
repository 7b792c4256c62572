package org.redhare.server;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.redhare.engine.GenerationEvent;
import org.redhare.engine.GenerationHandle;

/**
 * One generated choice: reads its engine handle, detokenizes, holds back possible stop strings, splits
 * reasoning from the answer, and hands each delta to a {@link Sink}. Accumulates the full text for
 * non-streamed replies.
 */
final class Choice {
    /** A sampled token as logprobs report it; {@code top} holds the most likely alternatives. */
    record Tok(int id, float logprob, List<Alt> top) {}

    record Alt(int id, float logprob) {}

    interface Sink {
        void delta(Choice c, String content, String reasoning, List<Tok> tokens) throws IOException;

        void finished(Choice c) throws IOException;

        /** Called while nothing arrives for a while; a streaming sink writes something so a gone client is noticed. */
        void idle() throws IOException;
    }

    final int index;
    final int[] prompt;
    final GenerationHandle handle;
    private final PromptFormatter.Decoder decoder;
    private final StopMatcher stop;
    private final PromptFormatter.ReasoningSplitter reasoning;
    private final ServerMetrics metrics;
    private final long startNanos;

    final StringBuilder content = new StringBuilder();
    final StringBuilder reasoningText = new StringBuilder();
    final List<Tok> tokens = new ArrayList<>();
    int completionTokens;
    String finishReason;
    private long firstTokenNanos;
    private long lastTokenNanos;

    Choice(int index, int[] prompt, GenerationHandle handle, PromptFormatter formatter, List<String> stops,
           PromptFormatter.ReasoningSplitter reasoning, ServerMetrics metrics, long startNanos) {
        this.index = index;
        this.prompt = prompt;
        this.handle = handle;
        this.decoder = formatter.decoder();
        this.stop = new StopMatcher(stops);
        this.reasoning = reasoning;
        this.metrics = metrics;
        this.startNanos = startNanos;
    }

    /** Emits text that precedes the generation (completions' echo). */
    void prefix(Sink sink, String text, List<Tok> promptTokens) throws IOException {
        content.append(text);
        sink.delta(this, text, "", promptTokens);
    }

    /** Runs to the end of the generation. On any failure (client gone) the engine sequence is cancelled. */
    void run(Sink sink) throws IOException, InterruptedException {
        boolean done = false;
        try {
            while (true) {
                GenerationEvent e = handle.poll(1, TimeUnit.SECONDS);
                if (e == null) {
                    sink.idle();
                    continue;
                }
                if (e instanceof GenerationEvent.Token t) {
                    long now = System.nanoTime();
                    if (firstTokenNanos == 0) {
                        firstTokenNanos = now;
                        metrics.timeToFirstToken(now - startNanos);
                    }
                    lastTokenNanos = now;
                    completionTokens++;
                    Tok tok = new Tok(t.id(), t.logprob(), List.of());
                    tokens.add(tok);
                    String safe = stop.push(decoder.push(t.id()));
                    if (stop.stopped()) {
                        handle.cancel(); // the stop string ended it; free the sequence now
                        emit(sink, safe, List.of(tok));
                        finish(sink, "stop");
                        done = true;
                        return;
                    }
                    emit(sink, safe, List.of(tok));
                } else if (e instanceof GenerationEvent.Finished f) {
                    String tail = stop.push(decoder.flush());
                    tail += stop.flush();
                    emit(sink, tail, List.of());
                    String reason = switch (f.reason()) {
                        case STOP, CANCELLED -> "stop";
                        case LENGTH, CONTEXT_LENGTH -> "length";
                        case ERROR -> throw ApiException.internal("generation failed: " + f.message());
                    };
                    finish(sink, reason);
                    done = true;
                    return;
                }
            }
        } finally {
            if (!done) {
                handle.cancel();
            }
        }
    }

    private void emit(Sink sink, String text, List<Tok> toks) throws IOException {
        String r = "";
        String c = text;
        if (reasoning != null) {
            PromptFormatter.ReasoningSplitter.Split s = reasoning.feed(text);
            r = s.reasoning();
            c = s.content();
        }
        content.append(c);
        reasoningText.append(r);
        if (!c.isEmpty() || !r.isEmpty() || !toks.isEmpty()) {
            sink.delta(this, c, r, toks);
        }
    }

    private void finish(Sink sink, String reason) throws IOException {
        if (reasoning != null) {
            PromptFormatter.ReasoningSplitter.Split s = reasoning.finish();
            if (!s.content().isEmpty() || !s.reasoning().isEmpty()) {
                content.append(s.content());
                reasoningText.append(s.reasoning());
                sink.delta(this, s.content(), s.reasoning(), List.of());
            }
        }
        finishReason = reason;
        metrics.generated(completionTokens);
        if (completionTokens > 1) {
            metrics.timePerOutputToken((lastTokenNanos - firstTokenNanos) / (completionTokens - 1));
        }
        sink.finished(this);
    }
}
