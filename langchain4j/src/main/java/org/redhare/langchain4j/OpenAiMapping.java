package org.redhare.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InternalServerException;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.exception.RateLimitException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.util.List;
import org.redhare.server.ApiException;

/**
 * LangChain4j's chat requests as the OpenAI chat completion bodies {@link org.redhare.server.LocalApi} takes, and its
 * replies back. Going through the server's own request handling means a LangChain4j user gets exactly what an OpenAI
 * client of {@code redhare serve} gets: the same template rendering, tool-call parsing and grammars, JSON schemas,
 * reasoning split, sampling defaults and checks, with no HTTP in between.
 */
final class OpenAiMapping {
    static final ObjectMapper JSON = new ObjectMapper();

    private OpenAiMapping() {}

    static ObjectNode request(ChatRequest r, Long seed, boolean stream) {
        ObjectNode b = JSON.createObjectNode();
        ChatRequestParameters p = r.parameters();
        if (p.modelName() != null) b.put("model", p.modelName());
        ArrayNode messages = b.putArray("messages");
        for (ChatMessage m : r.messages()) {
            messages.add(message(m));
        }
        if (p.temperature() != null) b.put("temperature", p.temperature());
        if (p.topP() != null) b.put("top_p", p.topP());
        if (p.topK() != null) b.put("top_k", p.topK());
        if (p.frequencyPenalty() != null) b.put("frequency_penalty", p.frequencyPenalty());
        if (p.presencePenalty() != null) b.put("presence_penalty", p.presencePenalty());
        if (p.maxOutputTokens() != null) b.put("max_tokens", p.maxOutputTokens());
        if (p.stopSequences() != null && !p.stopSequences().isEmpty()) {
            ArrayNode stop = b.putArray("stop");
            p.stopSequences().forEach(stop::add);
        }
        if (seed != null) b.put("seed", seed);
        List<ToolSpecification> tools = p.toolSpecifications();
        if (tools != null && !tools.isEmpty()) {
            ArrayNode arr = b.putArray("tools");
            for (ToolSpecification t : tools) {
                ObjectNode fn = arr.addObject().put("type", "function").putObject("function");
                fn.put("name", t.name());
                if (t.description() != null) fn.put("description", t.description());
                JsonObjectSchema params = t.parameters() != null ? t.parameters() : JsonObjectSchema.builder().build();
                fn.set("parameters", JSON.valueToTree(JsonSchemaElementUtils.toMap(params)));
            }
            if (p.toolChoice() != null) {
                b.put("tool_choice", switch (p.toolChoice()) {
                    case AUTO -> "auto";
                    case REQUIRED -> "required";
                    case NONE -> "none";
                });
            }
        }
        ResponseFormat format = p.responseFormat();
        if (format != null && format.type() == ResponseFormatType.JSON) {
            JsonSchema schema = format.jsonSchema();
            if (schema == null || schema.rootElement() == null) {
                b.putObject("response_format").put("type", "json_object");
            } else {
                ObjectNode js = b.putObject("response_format").put("type", "json_schema").putObject("json_schema");
                js.put("name", schema.name() != null ? schema.name() : "response");
                js.set("schema", JSON.valueToTree(JsonSchemaElementUtils.toMap(schema.rootElement())));
                js.put("strict", true);
            }
        }
        if (stream) {
            b.putObject("stream_options").put("include_usage", true);
        }
        return b;
    }

    private static ObjectNode message(ChatMessage m) {
        ObjectNode o = JSON.createObjectNode();
        switch (m) {
            case SystemMessage s -> o.put("role", "system").put("content", s.text());
            case UserMessage u -> {
                StringBuilder text = new StringBuilder();
                for (Content c : u.contents()) {
                    if (!(c instanceof TextContent t)) {
                        throw new UnsupportedFeatureException("RedHare's models read text only; this user message has "
                                + c.type() + " content: send its text alone");
                    }
                    text.append(t.text());
                }
                o.put("role", "user").put("content", text.toString());
            }
            case AiMessage a -> {
                o.put("role", "assistant");
                if (a.text() != null) {
                    o.put("content", a.text());
                } else {
                    o.putNull("content");
                }
                if (a.hasToolExecutionRequests()) {
                    ArrayNode calls = o.putArray("tool_calls");
                    for (ToolExecutionRequest t : a.toolExecutionRequests()) {
                        ObjectNode c = calls.addObject();
                        if (t.id() != null) c.put("id", t.id());
                        c.put("type", "function");
                        c.putObject("function").put("name", t.name()).put("arguments", t.arguments() != null ? t.arguments() : "{}");
                    }
                }
            }
            case ToolExecutionResultMessage t -> {
                o.put("role", "tool").put("content", t.text());
                if (t.id() != null) o.put("tool_call_id", t.id());
            }
            default -> throw new UnsupportedFeatureException("RedHare cannot send a " + m.type() + " message to a model:"
                    + " use system, user, AI and tool result messages");
        }
        return o;
    }

    static ToolExecutionRequest toolCall(JsonNode c) {
        JsonNode fn = c.path("function");
        return ToolExecutionRequest.builder().id(c.path("id").asText(null)).name(fn.path("name").asText())
                .arguments(fn.path("arguments").asText("{}")).build();
    }

    static FinishReason finishReason(String reason) {
        if (reason == null) return null;
        return switch (reason) {
            case "stop" -> FinishReason.STOP;
            case "length" -> FinishReason.LENGTH;
            case "tool_calls" -> FinishReason.TOOL_EXECUTION;
            default -> FinishReason.OTHER;
        };
    }

    static TokenUsage usage(JsonNode u) {
        if (u == null || u.isMissingNode() || u.isNull()) return null;
        return new TokenUsage(u.path("prompt_tokens").asInt(), u.path("completion_tokens").asInt(), u.path("total_tokens").asInt());
    }

    static ChatResponse response(String id, String model, String text, String thinking, List<ToolExecutionRequest> calls,
                                 TokenUsage usage, FinishReason finish) {
        AiMessage ai = AiMessage.builder().text(text).thinking(thinking).toolExecutionRequests(calls).build();
        return ChatResponse.builder().aiMessage(ai).metadata(ChatResponseMetadata.builder().id(id).modelName(model)
                .tokenUsage(usage).finishReason(finish).build()).build();
    }

    /** A whole {@code chat.completion} reply as LangChain4j's response. */
    static ChatResponse response(JsonNode reply, boolean returnThinking) {
        JsonNode choice = reply.path("choices").path(0);
        JsonNode msg = choice.path("message");
        List<ToolExecutionRequest> calls = new java.util.ArrayList<>();
        for (JsonNode c : msg.path("tool_calls")) {
            calls.add(toolCall(c));
        }
        String text = msg.path("content").isTextual() ? msg.get("content").asText() : null;
        String thinking = returnThinking && msg.path("reasoning_content").isTextual() ? msg.get("reasoning_content").asText() : null;
        return response(reply.path("id").asText(null), reply.path("model").asText(null), text, thinking, calls, usage(reply.get("usage")),
                finishReason(choice.path("finish_reason").asText(null)));
    }

    /** The server's refusal as the exception LangChain4j's own OpenAI client would throw for that status. */
    static LangChain4jException exception(ApiException e) {
        String message = e.getMessage();
        return switch (e.status()) {
            case 400, 413 -> new InvalidRequestException(message, e);
            case 429 -> new RateLimitException(message, e);
            default -> new InternalServerException(message, e);
        };
    }
}
