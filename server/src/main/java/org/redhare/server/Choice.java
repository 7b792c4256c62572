package org.redhare.server;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.redhare.engine.GenerationEvent;
import org.redhare.engine.GenerationHandle;
import org.redhare.engine.TokenLogprob;
import org.redhare.text.template.ReasoningParser;
import org.redhare.text.tools.ToolCall;
import org.redhare.text.tools.ToolCallParser;

/**
 * One generated choice: reads its engine handle, turns tokens into reply text ({@link ReplyText}), and
 * hands each delta to a {@link Sink}. Accumulates the full text and tokens for non-streamed replies.
 */
final class Choice {
    /**
     * A token as logprobs report it: {@code logprob} NaN where there is none (the first prompt token),
     * {@code top} the most likely alternatives, most likely first.
     */
    record Tok(int id, float logprob, List<TokenLogprob> top) {}

    /** A tool call of the reply with the id the client answers it by; {@code index} counts this choice's calls from 0. */
    record Call(int index, String id, ToolCall call) {}

    interface Sink {
        void delta(Choice c, String content, String reasoning, List<Call> calls, List<Tok> tokens) throws IOException;

        void finished(Choice c) throws IOException;

        /** Called while nothing arrives for a while; a streaming sink writes something so a gone client is noticed. */
        void idle() throws IOException;
    }

    /**
     * Completions' {@code echo}: the prompt text goes before the reply.
     *
     * @param withLogprobs the prompt's logprobs come too: the text waits for the engine's prompt event
     */
    record Echo(String text, boolean withLogprobs) {}

    final int index;
    final int[] prompt;
    final GenerationHandle handle;
    private final ReplyText reply;
    private final ToolCallParser toolParser; // null: no tool calls asked for
    private final Echo echo; // null: no echo
    private final ServerMetrics metrics;
    private final long startNanos;

    final StringBuilder content = new StringBuilder();
    final StringBuilder reasoningText = new StringBuilder();
    final List<Tok> promptTokens = new ArrayList<>();
    final List<Tok> tokens = new ArrayList<>();
    final List<Call> toolCalls = new ArrayList<>();
    int completionTokens;
    int cachedPromptTokens; // prompt tokens whose KV came from the prefix cache
    String finishReason;
    private long firstTokenNanos;
    private long lastTokenNanos;
    private boolean echoed;

    Choice(int index, int[] prompt, GenerationHandle handle, PromptFormatter formatter, List<String> stops, ReasoningParser reasoning,
           ToolCallParser toolParser, Echo echo, ServerMetrics metrics, long startNanos) {
        this.index = index;
        this.prompt = prompt;
        this.handle = handle;
        this.toolParser = toolParser;
        // Tool-call markers that the vocabulary counts as special (Mistral's [TOOL_CALLS]) must reach the parser.
        this.reply = new ReplyText(toolParser != null ? formatter.decoder(toolParser.format().markers()) : formatter.decoder(), stops,
                reasoning != null ? reasoning.stream() : null, toolParser != null ? toolParser.stream() : null);
        this.echo = echo;
        this.metrics = metrics;
        this.startNanos = startNanos;
    }

    /** Runs to the end of the generation. On any failure (client gone) the engine sequence is cancelled. */
    void run(Sink sink) throws IOException, InterruptedException {
        boolean done = false;
        try {
            if (echo != null && !echo.withLogprobs()) {
                echo(sink, List.of());
            }
            while (true) {
                GenerationEvent e = handle.poll(1, TimeUnit.SECONDS);
                if (e == null) {
                    sink.idle();
                    continue;
                }
                switch (e) {
                    case GenerationEvent.Prompt p -> {
                        for (int i = 0; i < prompt.length; i++) {
                            promptTokens.add(new Tok(prompt[i], p.logprobs()[i], i < p.top().size() ? p.top().get(i) : List.of()));
                        }
                        if (echo != null) {
                            echo(sink, promptTokens);
                        }
                    }
                    case GenerationEvent.Token t -> {
                        long now = System.nanoTime();
                        if (firstTokenNanos == 0) {
                            firstTokenNanos = now;
                            metrics.timeToFirstToken(now - startNanos);
                        }
                        lastTokenNanos = now;
                        completionTokens++;
                        Tok tok = new Tok(t.id(), t.logprob(), t.top());
                        tokens.add(tok);
                        ReplyText.Delta d = reply.push(t.id());
                        emit(sink, d, List.of(tok));
                        if (reply.stopped()) {
                            handle.cancel(); // the stop string ended it; free the sequence now
                            finish(sink, "stop");
                            done = true;
                            return;
                        }
                    }
                    case GenerationEvent.Embedding ignored -> { } // only embedding requests get one
                    case GenerationEvent.Finished f -> {
                        if (f.usage() != null) {
                            cachedPromptTokens = f.usage().cachedPromptTokens();
                        }
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
            }
        } finally {
            if (!done) {
                handle.cancel();
            }
        }
    }

    private void echo(Sink sink, List<Tok> promptToks) throws IOException {
        if (echoed) {
            return;
        }
        echoed = true;
        content.append(echo.text());
        sink.delta(this, echo.text(), "", List.of(), promptToks);
    }

    private void emit(Sink sink, ReplyText.Delta d, List<Tok> toks) throws IOException {
        content.append(d.content());
        reasoningText.append(d.reasoning());
        List<Call> calls = List.of();
        if (!d.toolCalls().isEmpty()) {
            calls = new ArrayList<>();
            for (ToolCall tc : d.toolCalls()) {
                Call c = new Call(toolCalls.size(), toolParser.format().newCallId(java.util.concurrent.ThreadLocalRandom.current()), tc);
                toolCalls.add(c);
                calls.add(c);
            }
        }
        if (!d.isEmpty() || !toks.isEmpty()) {
            sink.delta(this, d.content(), d.reasoning(), calls, toks);
        }
    }

    private void finish(Sink sink, String reason) throws IOException {
        ReplyText.Delta tail = reply.finish();
        if (!tail.isEmpty()) {
            emit(sink, tail, List.of());
        }
        // As OpenAI and vLLM report it: a reply that called tools ends for that reason, whatever stopped the tokens.
        finishReason = toolCalls.isEmpty() ? reason : "tool_calls";
        metrics.generated(completionTokens);
        if (completionTokens > 1) {
            metrics.timePerOutputToken((lastTokenNanos - firstTokenNanos) / (completionTokens - 1));
        }
        sink.finished(this);
    }
}
