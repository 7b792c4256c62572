package org.redhare.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.redhare.model.gguf.GgufFile;

/**
 * The sampling settings a model's authors recommend, from the files they ship: {@code generation_config.json}'s
 * {@code temperature}, {@code top_k}, {@code top_p}, {@code min_p} and {@code repetition_penalty} in a Hugging Face
 * directory, or the {@code general.sampling.*} metadata llama.cpp's converter writes into a GGUF file ({@code temp},
 * {@code top_k}, {@code top_p}, {@code min_p}, {@code penalty_repeat}). A null component means the model says nothing.
 *
 * <p>They are defaults: a request's own value wins, and where neither gives one the caller's built-in value applies
 * (the OpenAI API's for the server, llama.cpp's for the command line). As in vLLM, {@code do_sample} is not read: an
 * OpenAI request that leaves {@code temperature} out still samples. Values out of range (a negative temperature, a
 * top-p of 0) are left out with a warning rather than failing the load, since they only ever were advice.
 *
 * @param source where they came from, for messages ({@code generation_config.json}, {@code GGUF metadata}, or none)
 */
public record GenerationDefaults(Float temperature, Integer topK, Float topP, Float minP, Float repetitionPenalty, String source) {

    public static final GenerationDefaults NONE = new GenerationDefaults(null, null, null, null, null, "none");

    /** GGUF metadata keys, as llama.cpp names them ({@code gguf-py}'s {@code Keys.General.SAMPLING_*}). */
    public static final String GGUF_TEMPERATURE = "general.sampling.temp";
    public static final String GGUF_TOP_K = "general.sampling.top_k";
    public static final String GGUF_TOP_P = "general.sampling.top_p";
    public static final String GGUF_MIN_P = "general.sampling.min_p";
    public static final String GGUF_REPETITION_PENALTY = "general.sampling.penalty_repeat";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Whether the model recommends nothing. */
    public boolean isEmpty() {
        return temperature == null && topK == null && topP == null && minP == null && repetitionPenalty == null;
    }

    public float temperature(float fallback) {
        return temperature != null ? temperature : fallback;
    }

    public int topK(int fallback) {
        return topK != null ? topK : fallback;
    }

    public float topP(float fallback) {
        return topP != null ? topP : fallback;
    }

    public float minP(float fallback) {
        return minP != null ? minP : fallback;
    }

    public float repetitionPenalty(float fallback) {
        return repetitionPenalty != null ? repetitionPenalty : fallback;
    }

    /** The recommended values under the OpenAI request's field names, in a fixed order (for JSON and messages). */
    public Map<String, Number> asRequestFields() {
        Map<String, Number> m = new LinkedHashMap<>();
        put(m, "temperature", temperature);
        put(m, "top_k", topK);
        put(m, "top_p", topP);
        put(m, "min_p", minP);
        put(m, "repetition_penalty", repetitionPenalty);
        return m;
    }

    /** The values as GGUF metadata, for a converted file to carry them on. */
    public Map<String, Object> asGgufMetadata() {
        Map<String, Object> m = new LinkedHashMap<>();
        put(m, GGUF_TEMPERATURE, temperature);
        put(m, GGUF_TOP_K, topK);
        put(m, GGUF_TOP_P, topP);
        put(m, GGUF_MIN_P, minP);
        put(m, GGUF_REPETITION_PENALTY, repetitionPenalty);
        return m;
    }

    private static <V> void put(Map<String, ? super V> m, String key, V value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    /** "temperature 0.7, top_k 20 (generation_config.json)", or "none". */
    public String describe() {
        if (isEmpty()) {
            return "none";
        }
        List<String> parts = new ArrayList<>();
        asRequestFields().forEach((k, v) -> parts.add(k + " " + v));
        return String.join(", ", parts) + " (" + source + ")";
    }

    /**
     * The defaults of the model at {@code path}: a GGUF file's metadata or a directory's generation_config.json;
     * {@link #NONE} where there are none, or where {@code path} is no model at all (loading it says what is wrong).
     * A malformed generation_config.json is a {@link ModelLoadException}.
     */
    public static GenerationDefaults load(Path path, Consumer<String> warn) {
        if (Files.isRegularFile(path)) {
            if (!ModelLoader.isGguf(path)) {
                return NONE;
            }
            try (GgufFile f = GgufFile.open(path)) {
                return fromGguf(f.metadata(), warn);
            } catch (IOException e) {
                throw new ModelLoadException("cannot read " + path + ": " + e.getMessage());
            }
        }
        Path gen = path.resolve("generation_config.json");
        if (!Files.isRegularFile(gen)) {
            return NONE;
        }
        try {
            return fromJson(JSON.readTree(gen.toFile()), warn);
        } catch (IOException e) {
            throw new ModelLoadException(gen + " is not valid JSON: " + e.getMessage());
        }
    }

    /** From a parsed generation_config.json. */
    public static GenerationDefaults fromJson(JsonNode g, Consumer<String> warn) {
        Checker c = new Checker("generation_config.json", warn);
        return c.build(c.number(g, "temperature"), c.number(g, "top_k"), c.number(g, "top_p"), c.number(g, "min_p"),
                c.number(g, "repetition_penalty"));
    }

    /** From GGUF metadata. */
    public static GenerationDefaults fromGguf(Map<String, Object> metadata, Consumer<String> warn) {
        Checker c = new Checker("GGUF metadata", warn);
        return c.build(c.number(metadata, GGUF_TEMPERATURE), c.number(metadata, GGUF_TOP_K), c.number(metadata, GGUF_TOP_P),
                c.number(metadata, GGUF_MIN_P), c.number(metadata, GGUF_REPETITION_PENALTY));
    }

    /** Reads values and keeps those a request could carry, saying which it drops. */
    private record Checker(String source, Consumer<String> warn) {
        Double number(JsonNode g, String key) {
            JsonNode v = g.get(key);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!v.isNumber()) {
                drop(key, v.toString(), "not a number");
                return null;
            }
            return v.asDouble();
        }

        Double number(Map<String, Object> md, String key) {
            Object v = md.get(key);
            if (v == null) {
                return null;
            }
            if (!(v instanceof Number n)) {
                drop(key, String.valueOf(v), "not a number");
                return null;
            }
            return n.doubleValue();
        }

        GenerationDefaults build(Double t, Double k, Double p, Double minP, Double rep) {
            Float temperature = t != null && check("temperature", t, Double.isFinite(t) && t >= 0 && t <= 2, "must be in [0, 2]") ? (float) (double) t : null;
            Integer topK = null;
            if (k != null && check("top_k", k, k == Math.rint(k) && k >= -1 && k <= Integer.MAX_VALUE, "must be a whole number >= -1")) {
                topK = Math.max(0, (int) (double) k); // -1 and 0 both mean "all tokens"
            }
            Float topP = p != null && check("top_p", p, p > 0 && p <= 1, "must be in (0, 1]") ? (float) (double) p : null;
            Float mp = minP != null && check("min_p", minP, minP >= 0 && minP <= 1, "must be in [0, 1]") ? (float) (double) minP : null;
            Float r = rep != null && check("repetition_penalty", rep, Double.isFinite(rep) && rep > 0 && rep <= 10, "must be in (0, 10]")
                    ? (float) (double) rep : null;
            GenerationDefaults d = new GenerationDefaults(temperature, topK, topP, mp, r, source);
            return d.isEmpty() ? NONE : d;
        }

        private boolean check(String key, double v, boolean ok, String rule) {
            if (!ok) {
                drop(key, Double.toString(v), rule);
            }
            return ok;
        }

        private void drop(String key, String value, String why) {
            warn.accept("warning: the model's " + source + " recommends " + key + " = " + value + ", which is ignored (" + why + ")");
        }
    }
}
