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
import org.redhare.model.gguf.GgufFile;

/**
 * How a model turns text into an embedding, from the files its authors ship: a sentence-transformers directory's
 * {@code modules.json} (its {@code Pooling} module's config, whether a {@code Normalize} module follows) and
 * {@code config_sentence_transformers.json} (named prompts such as Qwen3-Embedding's {@code query} instruction), or a GGUF
 * file's {@code <arch>.pooling_type}. A model that ships neither (any generative checkpoint) embeds as llama.cpp does
 * by default for decoder-only models: the last token's final hidden state, normalized to unit length.
 *
 * @param pooling           how token states become one vector
 * @param normalize         whether vectors are scaled to unit length (a {@code Normalize} module)
 * @param includePrompt     whether a named prompt's tokens are pooled too (the Pooling config's {@code include_prompt})
 * @param prompts           named prompts prepended on request ({@code prompt_name}), in the file's order
 * @param defaultPromptName the prompt used when a request names none, or null
 * @param unsupported       why this model's embeddings cannot be reproduced (a module RedHare does not run), or null
 * @param source            where the settings came from, for messages
 */
public record EmbeddingConfig(Pooling pooling, boolean normalize, boolean includePrompt, Map<String, String> prompts,
                              String defaultPromptName, String unsupported, String source) {

    /** A generative model's embeddings: last token, normalized. */
    public static final EmbeddingConfig DEFAULT = new EmbeddingConfig(Pooling.LAST, true, true, Map.of(), null, null,
            "default for decoder-only models");

    private static final ObjectMapper JSON = new ObjectMapper();

    public EmbeddingConfig {
        prompts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(prompts));
    }

    /** "last token, normalized (modules.json)". */
    public String describe() {
        if (unsupported != null) {
            return "not available: " + unsupported;
        }
        String p = pooling == Pooling.LAST ? "last token" : pooling == Pooling.FIRST ? "first token" : pooling.label().replace('_', ' ') + " pooling";
        return p + (normalize ? ", normalized" : "") + (prompts.isEmpty() ? "" : ", prompts " + prompts.keySet()) + " (" + source + ")";
    }

    /**
     * The embedding settings of the model at {@code path}: a GGUF file's metadata, or a directory's sentence-transformers
     * files; {@link #DEFAULT} where there are none. Malformed files are a {@link ModelLoadException}.
     */
    public static EmbeddingConfig load(Path path) {
        if (Files.isRegularFile(path)) {
            if (!ModelLoader.isGguf(path)) {
                return DEFAULT;
            }
            try (GgufFile f = GgufFile.open(path)) {
                return fromGguf(f.metadata());
            } catch (IOException e) {
                throw new ModelLoadException("cannot read " + path + ": " + e.getMessage());
            }
        }
        Path modules = path.resolve("modules.json");
        if (!Files.isRegularFile(modules)) {
            return DEFAULT;
        }
        JsonNode list = read(modules);
        if (!list.isArray()) {
            throw new ModelLoadException(modules + " should be a JSON array of modules");
        }
        Pooling pooling = null;
        boolean includePrompt = true;
        boolean normalize = false;
        List<String> unsupported = new ArrayList<>();
        for (JsonNode m : list) {
            String type = m.path("type").asText("");
            String simple = type.substring(type.lastIndexOf('.') + 1);
            switch (simple) {
                case "Transformer" -> { } // the model itself
                case "Normalize" -> normalize = true;
                case "Pooling" -> {
                    Path cfg = path.resolve(m.path("path").asText("")).resolve("config.json");
                    if (!Files.isRegularFile(cfg)) {
                        throw new ModelLoadException(modules + " names a Pooling module at '" + m.path("path").asText("")
                                + "' but " + cfg + " is missing: copy the model's whole folder");
                    }
                    JsonNode c = read(cfg);
                    List<Pooling> on = new ArrayList<>();
                    for (Pooling p : Pooling.values()) {
                        if (c.path("pooling_mode_" + p.sentenceTransformersName()).asBoolean(false)) {
                            on.add(p);
                        }
                    }
                    String mode = c.path("pooling_mode").asText(""); // newer sentence-transformers write the mode by name
                    if (on.isEmpty() && !mode.isEmpty()) {
                        for (Pooling p : Pooling.values()) {
                            if (p.sentenceTransformersName().equals(mode) || p.sentenceTransformersName().equals(mode + "_tokens")
                                    || (p == Pooling.FIRST && mode.equals("cls")) || (p == Pooling.LAST && mode.equals("lasttoken"))) {
                                on.add(p);
                            }
                        }
                    }
                    if (on.size() == 1) {
                        pooling = on.get(0);
                    } else if (on.isEmpty()) {
                        unsupported.add("its Pooling module (" + cfg + ") sets no pooling mode RedHare knows");
                    } else {
                        unsupported.add("its Pooling module concatenates " + on.size() + " pooling modes");
                    }
                    includePrompt = c.path("include_prompt").asBoolean(true);
                }
                default -> unsupported.add("its sentence-transformers module '" + simple + "' (" + m.path("path").asText("") + ") is not run by RedHare");
            }
        }
        Map<String, String> prompts = new LinkedHashMap<>();
        String defaultPrompt = null;
        Path st = path.resolve("config_sentence_transformers.json");
        if (Files.isRegularFile(st)) {
            JsonNode c = read(st);
            c.path("prompts").properties().forEach(e -> prompts.put(e.getKey(), e.getValue().asText("")));
            JsonNode d = c.get("default_prompt_name");
            if (d != null && d.isTextual()) {
                if (!prompts.containsKey(d.asText())) {
                    throw new ModelLoadException(st + " names default_prompt_name '" + d.asText() + "' but its prompts are " + prompts.keySet());
                }
                defaultPrompt = d.asText();
            }
        }
        return new EmbeddingConfig(pooling != null ? pooling : Pooling.LAST, normalize, includePrompt, prompts, defaultPrompt,
                unsupported.isEmpty() ? null : String.join("; ", unsupported), "modules.json");
    }

    /** GGUF's {@code <arch>.pooling_type}: 0 none (per token; here the last), 1 mean, 2 cls, 3 last, 4 rank. */
    public static EmbeddingConfig fromGguf(Map<String, Object> metadata) {
        Object arch = metadata.get("general.architecture");
        Object type = arch == null ? null : metadata.get(arch + ".pooling_type");
        if (!(type instanceof Number n)) {
            return DEFAULT;
        }
        String src = arch + ".pooling_type " + n.intValue();
        return switch (n.intValue()) {
            case 0, 3 -> new EmbeddingConfig(Pooling.LAST, true, true, Map.of(), null, null, src);
            case 1 -> new EmbeddingConfig(Pooling.MEAN, true, true, Map.of(), null, null, src);
            case 2 -> new EmbeddingConfig(Pooling.FIRST, true, true, Map.of(), null, null, src);
            default -> new EmbeddingConfig(Pooling.LAST, true, true, Map.of(), null,
                    "its pooling type " + n.intValue() + " (4 is a reranker's score) gives no embedding", src);
        };
    }

    private static JsonNode read(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(p + " is not valid JSON: " + e.getMessage());
        }
    }
}
