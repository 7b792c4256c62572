package org.redhare.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.redhare.engine.EngineOverloadedException;
import org.redhare.engine.GenerationEvent;
import org.redhare.engine.GenerationHandle;
import org.redhare.engine.GenerationRequest;
import org.redhare.engine.InvalidRequestException;
import org.redhare.engine.SamplingParams;
import org.redhare.engine.TokenConstraint;
import org.redhare.engine.TokenLogprob;

/** POST /v1/completions and /v1/chat/completions: request to engine, engine events to OpenAI JSON or SSE. */
final class GenerationApi {
    private final ObjectMapper json;
    private final ServerMetrics metrics;
    private final Set<GenerationHandle> active;
    private final String modelName;

    GenerationApi(ObjectMapper json, ServerMetrics metrics, Set<GenerationHandle> active, String modelName) {
        this.json = json;
        this.metrics = metrics;
        this.active = active;
        this.modelName = modelName;
    }

    /** What the handler must write: a JSON body, or nothing when it streamed the reply itself. */
    interface Response {
        /** Called once the request is known valid, before any engine work, for streamed replies. */
        Events beginStream() throws IOException;
    }

    /** Where a streamed reply's chunks go: server-sent events to an HTTP client, or a caller in the same process. */
    interface Events {
        void chunk(ObjectNode chunk) throws IOException;

        /** Nothing arrived for a while: a network stream writes something so that a gone client is noticed. */
        void keepAlive() throws IOException;

        /** The last chunk was sent. */
        void done() throws IOException;
    }

    /** Server-sent events on {@code out}: one {@code data:} line per chunk, {@code data: [DONE]} at the end. */
    static Events serverSentEvents(OutputStream out, ObjectMapper json) {
        ServerSentEvents sse = new ServerSentEvents(out);
        return new Events() {
            @Override
            public void chunk(ObjectNode chunk) throws IOException {
                sse.send(null, json.writeValueAsString(chunk));
            }

            @Override
            public void keepAlive() throws IOException {
                sse.keepAlive();
            }

            @Override
            public void done() throws IOException {
                sse.send(null, "[DONE]");
                sse.close();
            }
        };
    }

    ObjectNode completions(ServedModel model, JsonNode body, Response response) throws IOException, InterruptedException {
        Params p = new Params(body);
        checkModel(p);
        SamplingRequest sr = SamplingRequest.read(p, false, model.defaults());
        List<int[]> prompts = completionPrompts(p, model.formatter());
        List<Choice.Echo> echoes = new ArrayList<>();
        for (int[] ids : prompts) {
            echoes.add(sr.echo() ? new Choice.Echo(echoText(p, prompts.size(), ids, model.formatter()), sr.logprobs() != null) : null);
        }
        return run(model, sr, prompts, echoes, null, false, response);
    }

    ObjectNode chat(ServedModel model, JsonNode body, Response response) throws IOException, InterruptedException {
        Params p = new Params(body);
        checkModel(p);
        SamplingRequest sr = SamplingRequest.read(p, true, model.defaults());
        PromptFormatter.ChatPrompt cp = renderChat(model, p);
        return run(model, sr, List.of(cp.ids()), java.util.Collections.singletonList(null), cp, true, response);
    }

    /** The request's messages rendered with the model's template: {@code tools} and {@code chat_template_kwargs} (extra template variables) included. */
    @SuppressWarnings("unchecked")
    PromptFormatter.ChatPrompt renderChat(ServedModel model, Params p) {
        List<Map<String, Object>> messages = messages(p);
        List<Map<String, Object>> tools = tools(p);
        ToolChoice choice = toolChoice(p, tools);
        p.bool("parallel_tool_calls", true); // accepted and checked; the model decides how many calls it writes
        Map<String, Object> extra = new LinkedHashMap<>();
        ObjectNode kw = p.object("chat_template_kwargs");
        if (kw != null) {
            extra.putAll(json.convertValue(kw, Map.class));
        }
        reasoningEffort(p.string("reasoning_effort"), extra);
        return model.formatter().renderChat(messages, tools, extra, choice);
    }

    static final java.util.Set<String> REASONING_EFFORTS = java.util.Set.of("none", "minimal", "low", "medium", "high");

    /**
     * OpenAI's {@code reasoning_effort} for open models: the template gets it as the variable {@code reasoning_effort}
     * (templates that grade their reasoning read it), and "none" or "minimal" turn a hybrid model's thinking off
     * ({@code enable_thinking: false}, Qwen3's switch) unless {@code chat_template_kwargs} says otherwise; "low",
     * "medium" and "high" leave it on.
     */
    static void reasoningEffort(String effort, Map<String, Object> templateArgs) {
        if (effort == null) {
            return;
        }
        if (!REASONING_EFFORTS.contains(effort)) {
            throw ApiException.invalid("reasoning_effort", "'reasoning_effort' must be one of none, minimal, low, medium, high; got \"" + effort + "\"");
        }
        templateArgs.putIfAbsent("reasoning_effort", effort);
        if (effort.equals("none") || effort.equals("minimal")) {
            templateArgs.putIfAbsent("enable_thinking", false);
        }
    }

    /** {@code tool_choice}: "auto" (default), "none", "required", or {"type": "function", "function": {"name": ...}} naming a tool. */
    private static ToolChoice toolChoice(Params p, List<Map<String, Object>> tools) {
        JsonNode n = p.get("tool_choice");
        if (n == null || n.isNull()) {
            return ToolChoice.AUTO;
        }
        boolean haveTools = tools != null && !tools.isEmpty();
        if (n.isTextual()) {
            switch (n.asText()) {
                case "auto": return ToolChoice.AUTO;
                case "none": return ToolChoice.NONE;
                case "required":
                    if (!haveTools) {
                        throw ApiException.invalid("tool_choice", "tool_choice \"required\" needs at least one tool in 'tools'");
                    }
                    return ToolChoice.REQUIRED;
                default:
                    throw ApiException.invalid("tool_choice", "tool_choice must be \"auto\", \"none\", \"required\" or"
                            + " {\"type\": \"function\", \"function\": {\"name\": ...}}, got \"" + n.asText() + "\"");
            }
        }
        JsonNode name = n.path("function").path("name");
        if (!n.isObject() || !"function".equals(n.path("type").asText()) || !name.isTextual()) {
            throw ApiException.invalid("tool_choice", "tool_choice must be \"auto\", \"none\", \"required\" or"
                    + " {\"type\": \"function\", \"function\": {\"name\": ...}}, got " + Params.kind(n));
        }
        boolean known = haveTools && tools.stream().anyMatch(t -> t.get("function") instanceof Map<?, ?> fn && name.asText().equals(fn.get("name")));
        if (!known) {
            throw ApiException.invalid("tool_choice", "tool_choice names the function \"" + name.asText()
                    + "\", which is not among the request's 'tools': add it there or name one of them");
        }
        return new ToolChoice(ToolChoice.Mode.FUNCTION, name.asText());
    }

    private void checkModel(Params p) {
        String m = p.string("model");
        // Clients must send a model; any value is served by the one loaded model, as llama.cpp does,
        // so tools configured with another name still work.
        if (m == null) {
            throw ApiException.invalid("model", "'model' is required: use \"" + modelName + "\" (see GET /v1/models)");
        }
    }

    private ObjectNode run(ServedModel model, SamplingRequest sr, List<int[]> prompts, List<Choice.Echo> echoes, PromptFormatter.ChatPrompt chat,
                           boolean isChat, Response response) throws IOException, InterruptedException {
        int ctx = model.maxContext();
        if (sr.format() != null && !model.formatter().hasTokenizer()) {
            throw ApiException.invalid("response_format", "response_format needs the model's tokenizer to know what each token writes,"
                    + " and this model has none");
        }
        List<GenerationRequest> requests = new ArrayList<>();
        Set<Integer> stopIds = new HashSet<>(model.formatter().stopTokenIds());
        stopIds.addAll(model.engine().model().config().eosTokenIds());
        int promptTokens = 0;
        for (int[] prompt : prompts) {
            if (prompt.length == 0) {
                throw ApiException.invalid(isChat ? "messages" : "prompt", "the prompt is empty: give at least one token");
            }
            if (prompt.length >= ctx) {
                throw ApiException.invalid(isChat ? "messages" : "prompt", "the prompt has " + prompt.length + " tokens but the context holds "
                        + ctx + " (prompt plus at least one generated token): shorten it");
            }
            int maxTokens = sr.maxTokens() != null ? sr.maxTokens() : ctx - prompt.length;
            if ((long) prompt.length + maxTokens > ctx) {
                throw ApiException.invalid(isChat ? "max_completion_tokens" : "max_tokens", "the prompt has " + prompt.length
                        + " tokens and " + maxTokens + " more were asked for, but the context holds " + ctx
                        + ": ask for at most " + (ctx - prompt.length) + " tokens or shorten the prompt");
            }
            promptTokens += prompt.length;
            for (int i = 0; i < sr.n(); i++) {
                SamplingParams sp = sr.sampling();
                if (sp.seed() != null && i > 0) {
                    sp = sp.withSeed(sp.seed() + i); // same seed, same n choices; yet the choices differ
                }
                try {
                    // Echoed prompt logprobs need the whole prompt computed, which skips the prefix cache: ask only then.
                    // Without logprobs a greedy request may skip the softmax and screen the LM head: ask only when asked.
                    TokenConstraint format = sr.format() != null
                            ? new JsonConstraint(sr.format(), model.formatter(), model.engine().model().vocabSize(),
                                    chat != null ? chat.reasoning() : null)
                            : chat != null && chat.toolCallGrammar() != null
                            ? new ToolCallConstraint(chat.toolCallGrammar(), JsonConstraint.vocabulary(model.formatter(),
                                    model.engine().model().vocabSize()), chat.toolCalls().prefill(), chat.reasoning())
                            : null;
                    requests.add(new GenerationRequest(prompt, sp, maxTokens, stopIds, sr.ignoreEos(),
                            sr.logprobs() != null ? sr.logprobs() : 0, sr.echo() && sr.logprobs() != null, sr.logprobs() != null, format));
                } catch (InvalidRequestException e) {
                    throw ApiException.invalid(null, e.getMessage());
                }
            }
        }
        String id = (isChat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        long start = System.nanoTime();
        metrics.prompt(promptTokens);

        List<Choice> choices = new ArrayList<>();
        try {
            for (int i = 0; i < requests.size(); i++) {
                GenerationHandle h;
                try {
                    h = model.engine().submit(requests.get(i));
                } catch (InvalidRequestException e) {
                    throw ApiException.invalid(isChat ? "messages" : "prompt", e.getMessage());
                } catch (EngineOverloadedException e) {
                    // the engine's queue is full: nothing of this request runs
                    dropSubmitted(choices);
                    throw ApiException.overloaded(e.getMessage(), e.retryAfterSeconds());
                } catch (IllegalStateException e) {
                    throw ApiException.unavailable("the server is shutting down: retry against another instance", 5);
                }
                active.add(h);
                int[] prompt = requests.get(i).prompt();
                choices.add(new Choice(i, prompt, h, model.formatter(), sr.stop(), chat != null ? chat.reasoning() : null,
                        chat != null ? chat.toolCalls() : null, echoes.get(i / sr.n()), metrics, start));
            }
            Choice.Sink sink;
            StreamSink stream = null;
            if (sr.stream()) {
                stream = new StreamSink(response.beginStream(), id, created, isChat, sr.logprobs() != null, model.formatter());
                sink = stream;
            } else {
                sink = new Choice.Sink() {
                    @Override public void delta(Choice c, String content, String reasoning, List<Choice.Call> calls, List<Choice.Tok> tokens) {}
                    @Override public void finished(Choice c) {}
                    @Override public void idle() {}
                };
            }
            if (stream != null && isChat) {
                for (Choice c : choices) {
                    stream.roleChunk(c);
                }
            }
            runAll(choices, sink);
            int completion = choices.stream().mapToInt(c -> c.completionTokens).sum();
            int cached = cachedPromptTokens(choices, sr.n());
            if (stream != null) {
                if (sr.includeUsage()) {
                    stream.usage(usage(promptTokens, completion, cached));
                }
                stream.done();
                return null;
            }
            return reply(id, created, isChat, choices, sr, model.formatter(), usage(promptTokens, completion, cached));
        } finally {
            for (Choice c : choices) {
                c.handle.cancel(); // no-op for finished ones; frees the rest at once
                active.remove(c.handle);
            }
        }
    }

    /**
     * Cancels the choices of a request already submitted and waits, up to a second, until the engine has dropped
     * them: a client told the server is busy must find their places free when it retries, not have its own
     * cancelled choices still counted in the queue (the engine drops cancelled sequences at its next step).
     */
    private static void dropSubmitted(List<Choice> choices) {
        choices.forEach(c -> c.handle.cancel());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        try {
            for (Choice c : choices) {
                GenerationEvent e;
                do {
                    e = c.handle.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } while (e != null && !(e instanceof GenerationEvent.Finished));
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs every choice to its end; the first failure (client gone) cancels them all. */
    private static void runAll(List<Choice> choices, Choice.Sink sink) throws IOException, InterruptedException {
        if (choices.size() == 1) {
            choices.get(0).run(sink);
            return;
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (Choice c : choices) {
            threads.add(Thread.ofVirtual().name("choice-" + c.index).start(() -> {
                try {
                    c.run(sink);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                    choices.forEach(o -> o.handle.cancel());
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        Throwable t = failure.get();
        if (t instanceof IOException io) throw io;
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof InterruptedException ie) throw ie;
        if (t != null) throw new IOException(t);
    }

    /** Prompt tokens served from the prefix cache: per prompt, the most any of its {@code n} choices found cached. */
    private static int cachedPromptTokens(List<Choice> choices, int n) {
        int total = 0;
        for (int i = 0; i < choices.size(); i += n) {
            int most = 0;
            for (int k = i; k < Math.min(i + n, choices.size()); k++) {
                most = Math.max(most, choices.get(k).cachedPromptTokens);
            }
            total += most;
        }
        return total;
    }

    private ObjectNode usage(int prompt, int completion, int cached) {
        ObjectNode u = json.createObjectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", cached); // as OpenAI reports its prompt caching
        return u;
    }

    private ObjectNode reply(String id, long created, boolean isChat, List<Choice> choices, SamplingRequest sr, PromptFormatter f, ObjectNode usage) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id);
        o.put("object", isChat ? "chat.completion" : "text_completion");
        o.put("created", created);
        o.put("model", modelName);
        ArrayNode arr = o.putArray("choices");
        for (Choice c : choices) {
            ObjectNode ch = arr.addObject();
            ch.put("index", c.index);
            if (isChat) {
                ObjectNode m = ch.putObject("message");
                m.put("role", "assistant");
                if (c.toolCalls.isEmpty() || !c.content.isEmpty()) {
                    m.put("content", c.content.toString());
                } else {
                    m.putNull("content"); // a reply that only calls tools, as OpenAI sends it
                }
                if (!c.reasoningText.isEmpty()) {
                    m.put("reasoning_content", c.reasoningText.toString());
                }
                if (!c.toolCalls.isEmpty()) {
                    m.set("tool_calls", toolCalls(c.toolCalls, false));
                }
                if (sr.logprobs() != null) {
                    ArrayNode content = ch.putObject("logprobs").putArray("content");
                    for (Choice.Tok t : c.tokens) {
                        content.add(chatLogprob(t, f));
                    }
                } else {
                    ch.putNull("logprobs");
                }
            } else {
                ch.put("text", c.content.toString());
                if (sr.logprobs() != null) {
                    List<Choice.Tok> all = new ArrayList<>(c.promptTokens);
                    all.addAll(c.tokens);
                    ch.set("logprobs", completionLogprobs(all, f, 0));
                } else {
                    ch.putNull("logprobs");
                }
            }
            ch.put("finish_reason", c.finishReason);
        }
        o.set("usage", usage);
        return o;
    }

    /** OpenAI's tool_calls array; in stream deltas each call carries its index too. */
    private ArrayNode toolCalls(List<Choice.Call> calls, boolean withIndex) {
        ArrayNode arr = json.createArrayNode();
        for (Choice.Call c : calls) {
            ObjectNode o = arr.addObject();
            if (withIndex) {
                o.put("index", c.index());
            }
            o.put("id", c.id());
            o.put("type", "function");
            ObjectNode fn = o.putObject("function");
            fn.put("name", c.call().name());
            fn.put("arguments", c.call().arguments());
        }
        return arr;
    }

    ObjectNode chatLogprob(Choice.Tok t, PromptFormatter f) {
        ObjectNode e = json.createObjectNode();
        e.put("token", f.tokenText(t.id()));
        putLogprob(e, "logprob", t.logprob());
        bytes(e, f.tokenBytes(t.id()));
        ArrayNode top = e.putArray("top_logprobs");
        for (TokenLogprob a : t.top()) {
            ObjectNode x = top.addObject();
            x.put("token", f.tokenText(a.id()));
            putLogprob(x, "logprob", a.logprob());
            bytes(x, f.tokenBytes(a.id()));
        }
        return e;
    }

    ObjectNode completionLogprobs(List<Choice.Tok> toks, PromptFormatter f, int offset) {
        ObjectNode lp = json.createObjectNode();
        ArrayNode tokens = lp.putArray("tokens");
        ArrayNode lps = lp.putArray("token_logprobs");
        ArrayNode tops = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        for (Choice.Tok t : toks) {
            String text = f.tokenText(t.id());
            tokens.add(text);
            if (Float.isFinite(t.logprob())) lps.add(t.logprob()); else lps.addNull();
            if (t.top().isEmpty() && !Float.isFinite(t.logprob())) {
                tops.addNull();
            } else {
                ObjectNode m = tops.addObject();
                for (TokenLogprob a : t.top()) {
                    m.put(f.tokenText(a.id()), a.logprob());
                }
            }
            offsets.add(offset);
            offset += text.length();
        }
        return lp;
    }

    private static void putLogprob(ObjectNode o, String name, float v) {
        if (Float.isFinite(v)) o.put(name, v); else o.putNull(name);
    }

    private static void bytes(ObjectNode o, byte[] bytes) {
        ArrayNode b = o.putArray("bytes");
        for (byte x : bytes) {
            b.add(x & 0xFF);
        }
    }

    private static String echoText(Params p, int count, int[] ids, PromptFormatter f) {
        if (!f.hasTokenizer()) {
            return ""; // token ids only: the ids come back through logprobs
        }
        JsonNode prompt = p.get("prompt");
        if (prompt.isTextual()) {
            return prompt.asText();
        }
        if (prompt.isArray() && count > 1 && prompt.get(0).isTextual()) {
            for (JsonNode s : prompt) {
                // the text of the prompt whose tokens these are
                int[] e = f.encode(s.asText());
                if (java.util.Arrays.equals(e, ids)) {
                    return s.asText();
                }
            }
        }
        return f.decode(ids);
    }

    /** {@code prompt}: a string, an array of strings, an array of token ids, or an array of arrays of token ids. */
    private static List<int[]> completionPrompts(Params p, PromptFormatter f) {
        JsonNode n = p.get("prompt");
        if (n == null) {
            throw ApiException.invalid("prompt", "'prompt' is required: a string, or an array of token ids");
        }
        List<int[]> out = new ArrayList<>();
        if (n.isTextual()) {
            out.add(f.encode(n.asText()));
        } else if (n.isArray() && !n.isEmpty() && n.get(0).isIntegralNumber()) {
            out.add(ids(n));
        } else if (n.isArray() && !n.isEmpty()) {
            for (JsonNode e : n) {
                if (e.isTextual()) {
                    out.add(f.encode(e.asText()));
                } else if (e.isArray()) {
                    out.add(ids(e));
                } else {
                    throw ApiException.invalid("prompt", "'prompt' arrays must hold strings or arrays of token ids, found " + Params.kind(e));
                }
            }
            if (out.size() > 64) {
                throw ApiException.invalid("prompt", "at most 64 prompts per request, got " + out.size());
            }
        } else {
            throw ApiException.invalid("prompt", "'prompt' must be a non-empty string or array, got " + Params.kind(n));
        }
        return out;
    }

    private static int[] ids(JsonNode arr) {
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = arr.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt()) {
                throw ApiException.invalid("prompt", "token ids must be integers, found " + Params.kind(t) + " at index " + i);
            }
            ids[i] = t.asInt();
        }
        return ids;
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> messages(Params p) {
        JsonNode n = p.get("messages");
        if (n == null || !n.isArray() || n.isEmpty()) {
            throw ApiException.invalid("messages", "'messages' must be a non-empty array of {\"role\", \"content\"} objects");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode m = n.get(i);
            if (!m.isObject()) {
                throw ApiException.invalid("messages[" + i + "]", "each message must be an object, message " + i + " is " + Params.kind(m));
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.invalid("messages[" + i + "].role", "message " + i + " needs a string 'role' (system, user, assistant, tool)");
            }
            JsonNode calls = m.get("tool_calls");
            if (calls != null && !calls.isNull()) {
                // An earlier reply's calls come back for the template to render: each needs a function name and arguments
                // (a JSON string as OpenAI sends them, or an object).
                if (!calls.isArray()) {
                    throw ApiException.invalid("messages[" + i + "].tool_calls", "tool_calls must be an array of"
                            + " {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}");
                }
                for (int k = 0; k < calls.size(); k++) {
                    JsonNode fn = calls.get(k).path("function");
                    JsonNode args = fn.path("arguments");
                    if (!fn.path("name").isTextual() || !(args.isMissingNode() || args.isTextual() || args.isObject())) {
                        throw ApiException.invalid("messages[" + i + "].tool_calls[" + k + "]", "each tool call needs"
                                + " function.name (a string) and function.arguments (a JSON string)");
                    }
                }
            }
            Map<String, Object> map = json.convertValue(m, LinkedHashMap.class);
            JsonNode content = m.get("content");
            if (content != null && content.isArray()) {
                // Content parts: only text parts can be read by a text model.
                StringBuilder sb = new StringBuilder();
                for (JsonNode part : content) {
                    if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                        throw ApiException.invalid("messages[" + i + "].content", "only text content parts ({\"type\":\"text\",\"text\":...}) are supported");
                    }
                    sb.append(part.get("text").asText());
                }
                map.put("content", sb.toString());
            } else if (content != null && !content.isNull() && !content.isTextual()) {
                throw ApiException.invalid("messages[" + i + "].content", "message " + i + " content must be a string or an array of text parts");
            } else if (content == null) {
                // OpenAI lets an assistant message that calls tools leave content out (LangChain4j does); templates read
                // message.content, so it is null here, as in a message that sends it as null. Other roles need it.
                if (!role.asText().equals("assistant")) {
                    throw ApiException.invalid("messages[" + i + "].content", "message " + i + " (role '" + role.asText() + "') needs 'content'");
                }
                map.put("content", null);
            }
            out.add(map);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> tools(Params p) {
        JsonNode n = p.get("tools");
        if (n == null) {
            return null;
        }
        if (!n.isArray()) {
            throw ApiException.invalid("tools", "'tools' must be an array");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode t = n.get(i);
            if (!t.isObject() || !t.path("function").path("name").isTextual()) {
                throw ApiException.invalid("tools[" + i + "]", "each tool must be {\"type\": \"function\", \"function\": {\"name\": ...,"
                        + " \"description\": ..., \"parameters\": {...}}}; tool " + i + " has no function name");
            }
            out.add(json.convertValue(t, LinkedHashMap.class));
        }
        return out;
    }

    /** A streamed reply: OpenAI's chunks, in order, to {@link Events}. */
    final class StreamSink implements Choice.Sink {
        private final Events out;
        private final String id;
        private final long created;
        private final boolean chat;
        private final boolean logprobs;
        private final PromptFormatter formatter;
        private final int[] offsets = new int[SamplingRequest.MAX_N * 64];

        StreamSink(Events out, String id, long created, boolean chat, boolean logprobs, PromptFormatter formatter) {
            this.out = out;
            this.id = id;
            this.created = created;
            this.chat = chat;
            this.logprobs = logprobs;
            this.formatter = formatter;
        }

        private ObjectNode chunk() {
            ObjectNode o = json.createObjectNode();
            o.put("id", id);
            o.put("object", chat ? "chat.completion.chunk" : "text_completion");
            o.put("created", created);
            o.put("model", modelName);
            return o;
        }

        void roleChunk(Choice c) throws IOException {
            ObjectNode o = chunk();
            ObjectNode ch = o.putArray("choices").addObject();
            ch.put("index", c.index);
            ObjectNode d = ch.putObject("delta");
            d.put("role", "assistant");
            d.put("content", "");
            ch.putNull("logprobs");
            ch.putNull("finish_reason");
            send(o);
        }

        @Override
        public void delta(Choice c, String content, String reasoning, List<Choice.Call> calls, List<Choice.Tok> tokens) throws IOException {
            ObjectNode o = chunk();
            ObjectNode ch = o.putArray("choices").addObject();
            ch.put("index", c.index);
            if (chat) {
                ObjectNode d = ch.putObject("delta");
                if (!content.isEmpty() || (reasoning.isEmpty() && calls.isEmpty())) {
                    d.put("content", content);
                }
                if (!reasoning.isEmpty()) {
                    d.put("reasoning_content", reasoning);
                }
                if (!calls.isEmpty()) {
                    d.set("tool_calls", toolCalls(calls, true)); // each call whole, in one delta
                }
                if (logprobs && !tokens.isEmpty()) {
                    ArrayNode arr = ch.putObject("logprobs").putArray("content");
                    for (Choice.Tok t : tokens) {
                        arr.add(chatLogprob(t, formatter));
                    }
                } else {
                    ch.putNull("logprobs");
                }
            } else {
                ch.put("text", content);
                if (logprobs && !tokens.isEmpty()) {
                    ObjectNode lp = completionLogprobs(tokens, formatter, offsets[c.index % offsets.length]);
                    for (Choice.Tok t : tokens) {
                        offsets[c.index % offsets.length] += formatter.tokenText(t.id()).length();
                    }
                    ch.set("logprobs", lp);
                } else {
                    ch.putNull("logprobs");
                }
            }
            ch.putNull("finish_reason");
            send(o);
        }

        @Override
        public void finished(Choice c) throws IOException {
            ObjectNode o = chunk();
            ObjectNode ch = o.putArray("choices").addObject();
            ch.put("index", c.index);
            if (chat) {
                ch.putObject("delta");
            } else {
                ch.put("text", "");
            }
            ch.putNull("logprobs");
            ch.put("finish_reason", c.finishReason);
            send(o);
        }

        @Override
        public synchronized void idle() throws IOException {
            out.keepAlive();
        }

        void usage(ObjectNode usage) throws IOException {
            ObjectNode o = chunk();
            o.putArray("choices");
            o.set("usage", usage);
            send(o);
        }

        synchronized void done() throws IOException {
            out.done();
        }

        private synchronized void send(ObjectNode o) throws IOException {
            out.chunk(o);
        }
    }
}
