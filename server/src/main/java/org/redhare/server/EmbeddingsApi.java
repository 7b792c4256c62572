package org.redhare.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.redhare.engine.EmbeddingRequest;
import org.redhare.engine.EngineOverloadedException;
import org.redhare.engine.FinishReason;
import org.redhare.engine.GenerationHandle;
import org.redhare.engine.InvalidRequestException;
import org.redhare.model.EmbeddingConfig;

/**
 * POST /v1/embeddings: OpenAI's embeddings request ({@code input} as a string, strings, token ids or arrays of them;
 * {@code encoding_format} float or base64; {@code dimensions}), answered with the model's pooled final hidden states
 * ({@link EmbeddingConfig}: a sentence-transformers model's own pooling and normalization, otherwise the last token's
 * state, normalized). Every input is its own engine request, so a batch of inputs runs batched, beside the generations in
 * flight. {@code dimensions} keeps the leading dimensions (Matryoshka models such as Qwen3-Embedding are trained for it),
 * normalized again when the model normalizes. An extension, {@code prompt_name}, prepends one of the model's named
 * prompts (sentence-transformers' {@code prompts}, such as Qwen3-Embedding's {@code query} instruction) to text inputs.
 */
final class EmbeddingsApi {
    /** Most inputs one request may hold (OpenAI's limit). */
    static final int MAX_INPUTS = 2048;
    /** Most inputs of one request in the engine at a time. */
    static final int IN_FLIGHT = 64;

    private final ObjectMapper json;
    private final ServerMetrics metrics;
    private final Set<GenerationHandle> active;
    private final String modelName;

    EmbeddingsApi(ObjectMapper json, ServerMetrics metrics, Set<GenerationHandle> active, String modelName) {
        this.json = json;
        this.metrics = metrics;
        this.active = active;
        this.modelName = modelName;
    }

    private record Input(int[] ids, int skip) {}

    ObjectNode create(ServedModel model, JsonNode body) throws InterruptedException {
        Params p = new Params(body);
        if (p.string("model") == null) {
            throw ApiException.invalid("model", "'model' is required: use \"" + modelName + "\" (see GET /v1/models)");
        }
        EmbeddingConfig cfg = model.embedding();
        if (cfg.unsupported() != null) {
            throw ApiException.invalid("model", "this model's embeddings cannot be computed as its authors define them: " + cfg.unsupported());
        }
        String format = p.string("encoding_format");
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw ApiException.invalid("encoding_format", "'encoding_format' must be \"float\" or \"base64\", got \"" + format + "\"");
        }
        int hidden = model.engine().model().config().hiddenSize();
        Integer dims = p.integer("dimensions", 1, Integer.MAX_VALUE);
        if (dims != null && dims > hidden) {
            throw ApiException.invalid("dimensions", "'dimensions' is " + dims + " but this model's embeddings have " + hidden
                    + ": ask for at most " + hidden);
        }
        p.string("user"); // accepted and checked, as OpenAI does; nothing is stored
        String promptName = p.string("prompt_name");
        if (promptName == null) {
            promptName = cfg.defaultPromptName();
        } else if (!cfg.prompts().containsKey(promptName)) {
            throw ApiException.invalid("prompt_name", "this model has no prompt named \"" + promptName + "\""
                    + (cfg.prompts().isEmpty() ? ": it ships none (config_sentence_transformers.json)" : ": it has " + cfg.prompts().keySet()));
        }
        String prompt = promptName != null ? cfg.prompts().get(promptName) : "";
        List<Input> inputs = inputs(p, model.formatter(), prompt, cfg.includePrompt());

        int promptTokens = inputs.stream().mapToInt(i -> i.ids().length).sum();
        metrics.prompt(promptTokens);
        List<GenerationHandle> handles = new ArrayList<>();
        try {
            // Every input is checked before any runs: a bad one refuses the request at once, whole.
            for (int i = 0; i < inputs.size(); i++) {
                try {
                    model.engine().checkEmbedding(inputs.get(i).ids());
                } catch (InvalidRequestException e) {
                    throw ApiException.invalid("input", (inputs.size() > 1 ? "input " + i + ": " : "") + e.getMessage());
                }
            }
            ObjectNode o = json.createObjectNode();
            o.put("object", "list");
            ArrayNode data = o.putArray("data");
            // At most a window of one request's inputs in the engine at a time (IN_FLIGHT, or half the engine's queue): a
            // request of thousands neither fills the queue (which would refuse it, and everyone else, with a 429) nor
            // holds back others' requests. A full queue refuses the request only when none of its inputs is in flight.
            int window = Math.max(1, Math.min(IN_FLIGHT, model.engine().config().maxWaiting() / 2));
            for (int i = 0; i < inputs.size(); i++) {
                while (handles.size() < inputs.size() && handles.size() < i + window) {
                    Input in = inputs.get(handles.size());
                    try {
                        GenerationHandle h = model.engine().embed(new EmbeddingRequest(in.ids(), cfg.pooling(), in.skip()));
                        handles.add(h);
                        active.add(h);
                    } catch (InvalidRequestException e) {
                        throw ApiException.invalid("input", (inputs.size() > 1 ? "input " + handles.size() + ": " : "") + e.getMessage());
                    } catch (EngineOverloadedException e) {
                        if (handles.size() > i) {
                            break; // others' requests fill the queue: wait for one of ours to finish, then submit again
                        }
                        throw ApiException.overloaded(e.getMessage(), e.retryAfterSeconds());
                    } catch (IllegalStateException e) {
                        throw ApiException.unavailable("the server is shutting down: retry against another instance", 5);
                    }
                }
                GenerationHandle.EmbeddingResult r = handles.get(i).awaitEmbedding();
                active.remove(handles.get(i));
                if (r.vector() == null) {
                    if (r.finished().reason() == FinishReason.CANCELLED) {
                        throw ApiException.unavailable("the server is shutting down: retry against another instance", 5);
                    }
                    throw ApiException.internal("embedding failed: " + r.finished().message());
                }
                float[] v = finish(r.vector(), dims, cfg.normalize());
                ObjectNode e = data.addObject();
                e.put("object", "embedding");
                e.put("index", i);
                if ("base64".equals(format)) {
                    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                    for (float f : v) b.putFloat(f);
                    e.put("embedding", Base64.getEncoder().encodeToString(b.array()));
                } else {
                    ArrayNode a = e.putArray("embedding");
                    for (float f : v) a.add(f);
                }
            }
            o.put("model", modelName);
            ObjectNode u = o.putObject("usage");
            u.put("prompt_tokens", promptTokens);
            u.put("total_tokens", promptTokens);
            return o;
        } finally {
            for (GenerationHandle h : handles) {
                h.cancel(); // no-op for finished ones; frees the rest at once (a failure, a refused later input)
                active.remove(h);
            }
        }
    }

    /** The leading {@code dims} (all when null), scaled to unit length when the model normalizes. */
    static float[] finish(float[] v, Integer dims, boolean normalize) {
        float[] out = dims != null ? java.util.Arrays.copyOf(v, dims) : v.clone();
        if (normalize) {
            double n = 0;
            for (float f : out) n += (double) f * f;
            n = Math.sqrt(n);
            if (n > 0) { // as torch.nn.functional.normalize, which divides by max(norm, 1e-12)
                for (int i = 0; i < out.length; i++) out[i] = (float) (out[i] / Math.max(n, 1e-12));
            }
        }
        return out;
    }

    /** {@code input}: a string, an array of strings, an array of token ids, or an array of such arrays. */
    private static List<Input> inputs(Params p, PromptFormatter f, String prompt, boolean includePrompt) {
        JsonNode n = p.get("input");
        if (n == null) {
            throw ApiException.invalid("input", "'input' is required: a string, an array of strings, or token ids");
        }
        List<JsonNode> items = new ArrayList<>();
        boolean oneIdList = n.isArray() && !n.isEmpty() && n.get(0).isNumber();
        if (n.isTextual() || oneIdList) {
            items.add(n);
        } else if (n.isArray() && !n.isEmpty()) {
            n.forEach(items::add);
        } else {
            throw ApiException.invalid("input", "'input' must be a non-empty string or array, got " + (n.isArray() ? "an empty array" : Params.kind(n)));
        }
        if (items.size() > MAX_INPUTS) {
            throw ApiException.invalid("input", "'input' holds " + items.size() + " inputs; at most " + MAX_INPUTS + " per request");
        }
        int skip = 0;
        if (!prompt.isEmpty() && !includePrompt && f.hasTokenizer()) {
            // sentence-transformers leaves the prompt's tokens out of the pooling, counting them as its tokenizer does one
            // less (the end-of-sequence token it appends)
            skip = Math.max(0, f.encode(prompt).length - 1);
        }
        List<Input> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            JsonNode e = items.get(i);
            String where = items.size() > 1 ? "input[" + i + "]" : "input";
            if (e.isTextual()) {
                if (!f.hasTokenizer()) {
                    throw ApiException.invalid("input", "this model has no tokenizer: send token ids instead of text");
                }
                int[] ids = f.encode(prompt + e.asText());
                if (ids.length == 0 || e.asText().isEmpty()) {
                    throw ApiException.invalid("input", where + " is empty: give some text");
                }
                out.add(new Input(ids, Math.min(skip, ids.length - 1)));
            } else if (e.isArray()) {
                if (e.isEmpty()) {
                    throw ApiException.invalid("input", where + " is an empty array of token ids");
                }
                int[] ids = new int[e.size()];
                for (int k = 0; k < ids.length; k++) {
                    JsonNode t = e.get(k);
                    if (!t.isIntegralNumber() || !t.canConvertToInt()) {
                        throw ApiException.invalid("input", "token ids must be integers, found " + Params.kind(t) + " at " + where + "[" + k + "]");
                    }
                    ids[k] = t.asInt();
                }
                out.add(new Input(ids, 0));
            } else {
                throw ApiException.invalid("input", "'input' arrays must hold strings or arrays of token ids, found " + Params.kind(e) + " at " + where);
            }
        }
        return out;
    }
}
