package org.redhare.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * POST /v1/responses: OpenAI's Responses API, the one its current SDKs and agents start from, answered by the chat
 * completions machinery. The request's {@code instructions} and {@code input} items (messages, earlier function calls and
 * their outputs) become chat messages; {@code tools} (functions), {@code tool_choice}, {@code text.format} and the
 * sampling fields map onto their chat counterparts; the reply's reasoning, text and tool calls come back as
 * {@code reasoning}, {@code message} and {@code function_call} output items, whole or as the API's streamed events.
 * Nothing is stored: {@code previous_response_id} is refused with what to send instead.
 */
final class ResponsesApi {
    /** Sampling and template fields passed to the chat request as they are (vLLM's extensions included). */
    private static final List<String> PASSED = List.of("temperature", "top_p", "top_k", "min_p", "seed", "stop", "presence_penalty",
            "frequency_penalty", "repetition_penalty", "logit_bias", "chat_template_kwargs", "parallel_tool_calls", "ignore_eos");
    private static final Set<String> TEXT_PARTS = Set.of("input_text", "output_text", "text");

    private final ObjectMapper json;
    private final GenerationApi chat;
    private final String modelName;

    ResponsesApi(ObjectMapper json, GenerationApi chat, String modelName) {
        this.json = json;
        this.chat = chat;
        this.modelName = modelName;
    }

    /** Where a streamed response's events go. */
    interface EventSink {
        void event(String type, ObjectNode data) throws IOException;

        void keepAlive() throws IOException;

        void close() throws IOException;
    }

    /** Server-sent events as the Responses API sends them: {@code event: TYPE} then {@code data: JSON}; no [DONE]. */
    static EventSink serverSentEvents(OutputStream out, ObjectMapper json) {
        ServerSentEvents sse = new ServerSentEvents(out);
        return new EventSink() {
            @Override
            public void event(String type, ObjectNode data) throws IOException {
                sse.send(type, json.writeValueAsString(data));
            }

            @Override
            public void keepAlive() throws IOException {
                sse.keepAlive();
            }

            @Override
            public void close() throws IOException {
                sse.close();
            }
        };
    }

    /** Opens the event stream once the request is known valid. */
    interface StreamOpener {
        EventSink open() throws IOException;
    }

    /** The whole response, or null when it was streamed through {@code opener}. */
    ObjectNode create(ServedModel model, JsonNode body, StreamOpener opener) throws IOException, InterruptedException {
        Params p = new Params(body);
        ObjectNode request = chatRequest(p);
        ObjectNode echo = echo(p);
        if (!p.bool("stream", false)) {
            ObjectNode c = chat.chat(model, request, () -> {
                throw new IllegalStateException("not streamed");
            });
            return response(c, echo);
        }
        request.put("stream", true);
        request.putObject("stream_options").put("include_usage", true);
        Translator t = new Translator(echo, opener);
        chat.chat(model, request, t::begin);
        return null;
    }

    /** The chat completion request this response request asks for. */
    private ObjectNode chatRequest(Params p) {
        if (p.has("previous_response_id") || p.has("conversation")) {
            throw ApiException.invalid(p.has("conversation") ? "conversation" : "previous_response_id", "this server stores no"
                    + " responses or conversations: send the whole conversation in 'input' (earlier messages, function_call and"
                    + " function_call_output items)");
        }
        if (p.bool("background", false)) {
            throw ApiException.invalid("background", "background responses are not supported: send the request without 'background'");
        }
        ObjectNode c = json.createObjectNode();
        c.put("model", p.has("model") ? p.string("model") : modelName);
        ObjectNode reasoning = p.object("reasoning");
        if (reasoning != null && reasoning.hasNonNull("effort")) { // reasoning.summary is accepted: the reasoning comes whole
            if (!reasoning.get("effort").isTextual()) {
                throw ApiException.invalid("reasoning.effort", "'reasoning.effort' must be a string (none, minimal, low, medium, high)");
            }
            c.put("reasoning_effort", reasoning.get("effort").asText());
        }
        ArrayNode messages = c.putArray("messages");
        String instructions = p.string("instructions");
        if (instructions != null) {
            messages.addObject().put("role", "system").put("content", instructions);
        }
        JsonNode input = p.get("input");
        if (input == null) {
            throw ApiException.invalid("input", "'input' is required: a string, or an array of message and function call items");
        }
        if (input.isTextual()) {
            messages.addObject().put("role", "user").put("content", input.asText());
        } else if (input.isArray()) {
            for (int i = 0; i < input.size(); i++) {
                item(input.get(i), i, messages);
            }
        } else {
            throw ApiException.invalid("input", "'input' must be a string or an array of items, got " + Params.kind(input));
        }
        for (String f : PASSED) {
            if (p.has(f)) {
                c.set(f, p.get(f));
            }
        }
        Integer max = p.integer("max_output_tokens", 1, Integer.MAX_VALUE);
        if (max != null) {
            c.put("max_tokens", max);
        }
        tools(p, c);
        ObjectNode text = p.object("text");
        if (text != null && text.has("format") && !text.get("format").isNull()) {
            c.set("response_format", format(text.get("format")));
        }
        return c;
    }

    /** One input item as chat messages: a message, a call the model made earlier, or a call's output. */
    private void item(JsonNode it, int i, ArrayNode messages) {
        String where = "input[" + i + "]";
        if (!it.isObject()) {
            throw ApiException.invalid(where, "each input item must be an object, item " + i + " is " + Params.kind(it));
        }
        String type = it.path("type").asText(it.has("role") ? "message" : "");
        switch (type) {
            case "message" -> {
                String role = it.path("role").asText("");
                if (!Set.of("user", "system", "developer", "assistant").contains(role)) {
                    throw ApiException.invalid(where + ".role", "a message's role must be user, system, developer or assistant, got '" + role + "'");
                }
                messages.addObject().put("role", role.equals("developer") ? "system" : role).put("content", text(it.get("content"), where + ".content"));
            }
            case "function_call" -> {
                if (!it.path("name").isTextual() || !it.path("call_id").isTextual()) {
                    throw ApiException.invalid(where, "a function_call item needs 'call_id' and 'name' (and 'arguments', a JSON string)");
                }
                ObjectNode last = messages.isEmpty() ? null : (ObjectNode) messages.get(messages.size() - 1);
                ObjectNode assistant = last != null && "assistant".equals(last.path("role").asText()) && last.has("tool_calls") ? last : null;
                if (assistant == null) {
                    assistant = messages.addObject().put("role", "assistant");
                    assistant.putNull("content");
                    assistant.putArray("tool_calls");
                }
                ObjectNode call = ((ArrayNode) assistant.get("tool_calls")).addObject();
                call.put("id", it.get("call_id").asText()).put("type", "function");
                call.putObject("function").put("name", it.get("name").asText()).put("arguments", it.path("arguments").asText("{}"));
            }
            case "function_call_output" -> {
                if (!it.path("call_id").isTextual()) {
                    throw ApiException.invalid(where, "a function_call_output item needs the 'call_id' of its call and an 'output'");
                }
                JsonNode out = it.get("output");
                messages.addObject().put("role", "tool").put("tool_call_id", it.get("call_id").asText())
                        .put("content", out == null || out.isNull() ? "" : out.isTextual() ? out.asText() : text(out, where + ".output"));
            }
            case "reasoning" -> {
                // an earlier turn's reasoning: templates leave it out of the prompt, and so does this server
            }
            default -> throw ApiException.invalid(where + ".type", "input items of type '" + type + "' are not supported: send"
                    + " message, function_call, function_call_output or reasoning items");
        }
    }

    /** A message's content: a string, or text parts (images and files cannot be read by a text model). */
    private static String text(JsonNode content, String where) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray()) {
            throw ApiException.invalid(where, "content must be a string or an array of text parts, got " + Params.kind(content));
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content) {
            if (!TEXT_PARTS.contains(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw ApiException.invalid(where, "only text parts ({\"type\": \"input_text\", \"text\": ...}) can be read by this"
                        + " model, found " + (part.has("type") ? "'" + part.path("type").asText() + "'" : Params.kind(part)));
            }
            sb.append(part.get("text").asText());
        }
        return sb.toString();
    }

    private void tools(Params p, ObjectNode c) {
        JsonNode tools = p.get("tools");
        if (tools != null) {
            if (!tools.isArray()) {
                throw ApiException.invalid("tools", "'tools' must be an array of function tools");
            }
            ArrayNode out = c.putArray("tools");
            for (int i = 0; i < tools.size(); i++) {
                JsonNode t = tools.get(i);
                if (!"function".equals(t.path("type").asText()) || !t.path("name").isTextual()) {
                    throw ApiException.invalid("tools[" + i + "]", "only function tools ({\"type\": \"function\", \"name\": ...,"
                            + " \"parameters\": {...}}) can be run here; tool " + i + " is '" + t.path("type").asText() + "'");
                }
                ObjectNode fn = out.addObject().put("type", "function").putObject("function");
                fn.put("name", t.get("name").asText());
                if (t.path("description").isTextual()) fn.put("description", t.get("description").asText());
                if (t.has("parameters") && !t.get("parameters").isNull()) fn.set("parameters", t.get("parameters"));
            }
        }
        JsonNode choice = p.get("tool_choice");
        if (choice != null) {
            if (choice.isTextual()) {
                c.put("tool_choice", choice.asText());
            } else if (choice.isObject() && "function".equals(choice.path("type").asText()) && choice.path("name").isTextual()) {
                c.putObject("tool_choice").put("type", "function").putObject("function").put("name", choice.get("name").asText());
            } else {
                throw ApiException.invalid("tool_choice", "tool_choice must be \"auto\", \"none\", \"required\" or"
                        + " {\"type\": \"function\", \"name\": ...}");
            }
        }
    }

    /** {@code text.format} as the chat API's {@code response_format}. */
    private ObjectNode format(JsonNode f) {
        ObjectNode rf = json.createObjectNode();
        String type = f.path("type").asText("");
        switch (type) {
            case "text", "json_object" -> rf.put("type", type);
            case "json_schema" -> {
                rf.put("type", "json_schema");
                ObjectNode js = rf.putObject("json_schema");
                js.put("name", f.path("name").asText("response"));
                if (f.has("schema")) js.set("schema", f.get("schema"));
                if (f.has("strict")) js.set("strict", f.get("strict"));
            }
            default -> throw ApiException.invalid("text.format", "text.format.type must be text, json_object or json_schema, got '" + type + "'");
        }
        return rf;
    }

    /** What every response repeats of its request. */
    private ObjectNode echo(Params p) {
        ObjectNode e = json.createObjectNode();
        e.put("id", "resp_" + UUID.randomUUID().toString().replace("-", ""));
        e.put("object", "response");
        e.put("created_at", System.currentTimeMillis() / 1000);
        e.put("model", modelName);
        e.set("instructions", p.has("instructions") ? p.get("instructions") : json.nullNode());
        e.set("max_output_tokens", p.has("max_output_tokens") ? p.get("max_output_tokens") : json.nullNode());
        e.put("parallel_tool_calls", p.get("parallel_tool_calls") == null || p.get("parallel_tool_calls").asBoolean(true));
        e.set("temperature", p.has("temperature") ? p.get("temperature") : json.nullNode());
        e.set("top_p", p.has("top_p") ? p.get("top_p") : json.nullNode());
        e.set("tool_choice", p.has("tool_choice") ? p.get("tool_choice") : json.getNodeFactory().textNode("auto"));
        e.set("tools", p.has("tools") ? p.get("tools") : json.createArrayNode());
        ObjectNode text = json.createObjectNode();
        text.set("format", p.object("text") != null && p.object("text").has("format") ? p.object("text").get("format")
                : json.createObjectNode().put("type", "text"));
        e.set("text", text);
        e.set("metadata", p.has("metadata") ? p.get("metadata") : json.createObjectNode());
        e.put("store", false);
        e.putNull("previous_response_id");
        e.put("truncation", "disabled");
        e.putNull("error");
        e.putNull("incomplete_details");
        return e;
    }

    private static ObjectNode usage(JsonNode u, ObjectMapper json) {
        ObjectNode o = json.createObjectNode();
        o.put("input_tokens", u.path("prompt_tokens").asInt());
        o.putObject("input_tokens_details").put("cached_tokens", u.path("prompt_tokens_details").path("cached_tokens").asInt(0))
                .put("cache_write_tokens", 0);
        o.put("output_tokens", u.path("completion_tokens").asInt());
        o.putObject("output_tokens_details").put("reasoning_tokens", 0);
        o.put("total_tokens", u.path("total_tokens").asInt());
        return o;
    }

    private ObjectNode finish(ObjectNode echo, String status, String finishReason, ArrayNode output, JsonNode usage) {
        ObjectNode r = echo.deepCopy();
        r.put("status", status);
        if ("length".equals(finishReason)) {
            r.put("status", "incomplete");
            r.putObject("incomplete_details").put("reason", "max_output_tokens");
        }
        r.set("output", output);
        if (usage != null) {
            r.set("usage", usage(usage, json));
        }
        return r;
    }

    /** A message cut by max_output_tokens is incomplete, as OpenAI marks it. */
    private static String itemStatus(String finishReason) {
        return "length".equals(finishReason) ? "incomplete" : "completed";
    }

    private static String newId(String prefix) {
        return prefix + UUID.randomUUID().toString().replace("-", "");
    }

    private ObjectNode reasoningItem(String id, String text) {
        ObjectNode it = json.createObjectNode().put("type", "reasoning").put("id", id);
        it.putArray("summary");
        if (text != null) {
            it.putArray("content").addObject().put("type", "reasoning_text").put("text", text);
        }
        return it;
    }

    private ObjectNode messageItem(String id, String status, String text) {
        ObjectNode it = json.createObjectNode().put("type", "message").put("id", id).put("status", status).put("role", "assistant");
        ArrayNode content = it.putArray("content");
        if (text != null) {
            content.add(outputText(text));
        }
        return it;
    }

    private ObjectNode outputText(String text) {
        ObjectNode part = json.createObjectNode().put("type", "output_text").put("text", text);
        part.putArray("annotations");
        part.putArray("logprobs");
        return part;
    }

    private ObjectNode callItem(String id, JsonNode call, String status, boolean withArguments) {
        JsonNode fn = call.path("function");
        return json.createObjectNode().put("type", "function_call").put("id", id).put("call_id", call.path("id").asText())
                .put("name", fn.path("name").asText()).put("arguments", withArguments ? fn.path("arguments").asText("{}") : "")
                .put("status", status);
    }

    /** A whole chat completion as a response. */
    private ObjectNode response(ObjectNode c, ObjectNode echo) {
        JsonNode choice = c.path("choices").path(0);
        JsonNode msg = choice.path("message");
        ArrayNode output = json.createArrayNode();
        if (msg.path("reasoning_content").isTextual()) {
            output.add(reasoningItem(newId("rs_"), msg.get("reasoning_content").asText()));
        }
        String content = msg.path("content").isTextual() ? msg.get("content").asText() : "";
        boolean calls = msg.path("tool_calls").size() > 0;
        if (!content.isEmpty() || !calls) {
            output.add(messageItem(newId("msg_"), itemStatus(choice.path("finish_reason").asText()), content));
        }
        for (JsonNode call : msg.path("tool_calls")) {
            output.add(callItem(newId("fc_"), call, "completed", true));
        }
        return finish(echo, "completed", choice.path("finish_reason").asText(), output, c.get("usage"));
    }

    /** Chat completion chunks in, Responses API events out: each output item opened, filled and closed in turn. */
    private final class Translator implements GenerationApi.Events {
        private final ObjectNode echo;
        private final StreamOpener opener;
        private EventSink sink;
        private int sequence;
        private final ArrayNode output = json.createArrayNode();
        private String openKind; // "reasoning" or "message" while one is open, else null
        private String openId;
        private final StringBuilder openText = new StringBuilder();
        private String finishReason;
        private JsonNode usage;

        Translator(ObjectNode echo, StreamOpener opener) {
            this.echo = echo;
            this.opener = opener;
        }

        GenerationApi.Events begin() throws IOException {
            sink = opener.open();
            ObjectNode r = echo.deepCopy().put("status", "in_progress");
            r.putArray("output");
            send("response.created", json.createObjectNode().set("response", r));
            send("response.in_progress", json.createObjectNode().set("response", r.deepCopy()));
            return this;
        }

        private void send(String type, ObjectNode data) throws IOException {
            ObjectNode d = json.createObjectNode().put("type", type).put("sequence_number", sequence++);
            d.setAll(data);
            sink.event(type, d);
        }

        private ObjectNode at(String itemId) {
            return json.createObjectNode().put("item_id", itemId).put("output_index", output.size());
        }

        @Override
        public void chunk(ObjectNode chunk) throws IOException {
            if (chunk.hasNonNull("usage")) {
                usage = chunk.get("usage");
            }
            for (JsonNode choice : chunk.path("choices")) {
                JsonNode delta = choice.path("delta");
                String reasoning = delta.path("reasoning_content").asText("");
                if (!reasoning.isEmpty()) {
                    text("reasoning", reasoning);
                }
                String content = delta.path("content").asText("");
                if (!content.isEmpty()) {
                    text("message", content);
                }
                for (JsonNode call : delta.path("tool_calls")) {
                    call(call);
                }
                if (choice.hasNonNull("finish_reason")) {
                    finishReason = choice.get("finish_reason").asText();
                }
            }
        }

        private void text(String kind, String delta) throws IOException {
            if (!kind.equals(openKind)) {
                closeOpen();
                openKind = kind;
                openId = newId(kind.equals("message") ? "msg_" : "rs_");
                ObjectNode added = json.createObjectNode().put("output_index", output.size());
                added.set("item", kind.equals("message") ? messageItem(openId, "in_progress", null) : reasoningItem(openId, null));
                send("response.output_item.added", added);
                if (kind.equals("message")) {
                    ObjectNode part = at(openId).put("content_index", 0);
                    part.set("part", outputText(""));
                    send("response.content_part.added", part);
                }
            }
            openText.append(delta);
            ObjectNode d = at(openId).put("content_index", 0).put("delta", delta);
            if (kind.equals("message")) {
                d.putArray("logprobs");
                send("response.output_text.delta", d);
            } else {
                send("response.reasoning_text.delta", d);
            }
        }

        private void closeOpen() throws IOException {
            if (openKind == null) {
                return;
            }
            String text = openText.toString();
            ObjectNode item;
            if (openKind.equals("message")) {
                ObjectNode done = at(openId).put("content_index", 0).put("text", text);
                done.putArray("logprobs");
                send("response.output_text.done", done);
                ObjectNode part = at(openId).put("content_index", 0);
                part.set("part", outputText(text));
                send("response.content_part.done", part);
                item = messageItem(openId, itemStatus(finishReason), text);
            } else {
                send("response.reasoning_text.done", at(openId).put("content_index", 0).put("text", text));
                item = reasoningItem(openId, text);
            }
            ObjectNode done = json.createObjectNode().put("output_index", output.size());
            done.set("item", item);
            send("response.output_item.done", done);
            output.add(item);
            openKind = null;
            openText.setLength(0);
        }

        private void call(JsonNode call) throws IOException {
            closeOpen();
            String id = newId("fc_");
            ObjectNode added = json.createObjectNode().put("output_index", output.size());
            added.set("item", callItem(id, call, "in_progress", false));
            send("response.output_item.added", added);
            String args = call.path("function").path("arguments").asText("{}");
            send("response.function_call_arguments.delta", at(id).put("delta", args));
            send("response.function_call_arguments.done", at(id).put("name", call.path("function").path("name").asText()).put("arguments", args));
            ObjectNode item = callItem(id, call, "completed", true);
            ObjectNode done = json.createObjectNode().put("output_index", output.size());
            done.set("item", item);
            send("response.output_item.done", done);
            output.add(item);
        }

        @Override
        public void keepAlive() throws IOException {
            sink.keepAlive();
        }

        @Override
        public void done() throws IOException {
            closeOpen();
            if (output.isEmpty()) {
                text("message", ""); // an empty reply is still a message
                closeOpen();
            }
            ObjectNode r = finish(echo, "completed", finishReason, output, usage);
            send("length".equals(finishReason) ? "response.incomplete" : "response.completed", json.createObjectNode().set("response", r));
            sink.close();
        }
    }
}
