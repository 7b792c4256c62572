package org.redhare.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.redhare.engine.InvalidRequestException;
import org.redhare.engine.SamplingParams;
import org.redhare.model.GenerationDefaults;
import org.redhare.text.json.JsonSchemaGrammar;

/**
 * The generation fields shared by /v1/completions and /v1/chat/completions, read and checked.
 *
 * @param maxTokens   null: as many as the context allows
 * @param logprobs    null: none; otherwise how many alternatives per token (0 = only the chosen token's)
 * @param format      the JSON the output must be ({@code response_format}), or null for any text
 */
record SamplingRequest(SamplingParams sampling, Integer maxTokens, List<String> stop, int n, boolean stream, boolean includeUsage,
                       Integer logprobs, boolean echo, boolean ignoreEos, JsonSchemaGrammar format) {

    static final int MAX_N = 16;
    static final int MAX_TOP_LOGPROBS = 20;

    /**
     * Reads the fields; those left out take the model's recommendation ({@code defaults}) and else the OpenAI API's
     * default (temperature 1, top_p 1, no top_k, min_p or penalties).
     */
    static SamplingRequest read(Params p, boolean chat, GenerationDefaults defaults) {
        Integer maxTokens = p.integer("max_completion_tokens", 1, Integer.MAX_VALUE);
        Integer legacy = p.integer("max_tokens", 1, Integer.MAX_VALUE);
        if (maxTokens == null) {
            maxTokens = legacy;
        }
        if (maxTokens == null && !chat) {
            maxTokens = 16; // OpenAI's default for completions
        }
        double temperature = orElse(p.number("temperature", 0, 2), (double) defaults.temperature(1f));
        double topP = orElse(p.number("top_p", 0, 1), (double) defaults.topP(1f));
        if (topP == 0) {
            throw ApiException.invalid("top_p", "'top_p' must be in (0, 1], got 0");
        }
        int topK = orElse(p.integer("top_k", -1, Integer.MAX_VALUE), defaults.topK(0));
        double minP = orElse(p.number("min_p", 0, 1), (double) defaults.minP(0f));
        double presence = orElse(p.number("presence_penalty", -2, 2), 0.0);
        double frequency = orElse(p.number("frequency_penalty", -2, 2), 0.0);
        double repetition = orElse(p.number("repetition_penalty", 0, 10), (double) defaults.repetitionPenalty(1f));
        Long seed = p.longValue("seed");
        int n = orElse(p.integer("n", 1, MAX_N), 1);
        boolean stream = p.bool("stream", false);
        var so = p.object("stream_options");
        boolean includeUsage = false;
        if (so != null) {
            JsonCheck.bool(so, "stream_options.include_usage");
            includeUsage = so.path("include_usage").asBoolean(false);
        }
        Integer logprobs;
        if (chat) {
            boolean want = p.bool("logprobs", false);
            Integer top = p.integer("top_logprobs", 0, MAX_TOP_LOGPROBS);
            if (top != null && !want) {
                throw ApiException.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true");
            }
            logprobs = want ? orElse(top, 0) : null;
        } else {
            logprobs = p.integer("logprobs", 0, MAX_TOP_LOGPROBS);
        }
        boolean echo = !chat && p.bool("echo", false);
        boolean ignoreEos = p.bool("ignore_eos", false);
        SamplingParams sp;
        try {
            sp = new SamplingParams((float) temperature, topK < 0 ? 0 : topK, (float) topP, (float) minP, (float) repetition,
                    (float) presence, (float) frequency, seed, logitBias(p));
        } catch (InvalidRequestException e) {
            throw ApiException.invalid(null, e.getMessage());
        }
        return new SamplingRequest(sp, maxTokens, p.stop(), n, stream, includeUsage, logprobs, echo, ignoreEos, responseFormat(p));
    }

    /** {@code logit_bias}: token ids (as the object's keys) to a bias in [-100, 100]; null when absent. */
    static java.util.Map<Integer, Float> logitBias(Params p) {
        var o = p.object("logit_bias");
        if (o == null) {
            return null;
        }
        if (o.size() > 1024) {
            throw ApiException.invalid("logit_bias", "'logit_bias' holds " + o.size() + " tokens; at most 1024 are allowed");
        }
        java.util.Map<Integer, Float> m = new java.util.HashMap<>();
        var it = o.fields();
        while (it.hasNext()) {
            var e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException x) {
                throw ApiException.invalid("logit_bias", "'logit_bias' keys are token ids, got '" + e.getKey() + "'");
            }
            JsonNode v = e.getValue();
            if (id < 0 || !v.isNumber() || !(v.asDouble() >= -100 && v.asDouble() <= 100)) {
                throw ApiException.invalid("logit_bias", "'logit_bias' maps token ids >= 0 to biases in [-100, 100], got " + e.getKey()
                        + ": " + v);
            }
            m.put(id, (float) v.asDouble());
        }
        return m;
    }

    /**
     * {@code response_format}: {@code text} (or none), {@code json_object} (any JSON object; llama.cpp's {@code schema}
     * beside it is honoured), or {@code json_schema} with its {@code json_schema.schema}.
     */
    static JsonSchemaGrammar responseFormat(Params p) {
        var rf = p.object("response_format");
        if (rf == null) {
            return null;
        }
        JsonNode type = rf.get("type");
        String t = type != null && type.isTextual() ? type.asText() : null;
        try {
            if ("text".equals(t)) {
                return null;
            }
            if ("json_object".equals(t)) {
                JsonNode schema = rf.get("schema");
                return schema != null && schema.isObject() ? JsonSchemaGrammar.fromSchema(schema) : JsonSchemaGrammar.anyObject();
            }
            if ("json_schema".equals(t)) {
                JsonNode js = rf.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiException.invalid("response_format", "'response_format.json_schema' must be an object holding the 'schema'");
                }
                JsonNode schema = js.get("schema");
                if (schema == null) {
                    return JsonSchemaGrammar.anyObject();
                }
                if (!schema.isObject()) {
                    throw ApiException.invalid("response_format", "'response_format.json_schema.schema' must be a JSON Schema object");
                }
                return JsonSchemaGrammar.fromSchema(schema);
            }
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("response_format", "response_format: " + e.getMessage());
        }
        throw ApiException.invalid("response_format", "'response_format.type' must be 'text', 'json_object' or 'json_schema', got "
                + (type == null ? "none" : type.toString()));
    }

    private static <T> T orElse(T v, T d) {
        return v != null ? v : d;
    }
}
