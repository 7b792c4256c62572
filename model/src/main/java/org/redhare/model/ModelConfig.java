package org.redhare.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a Hugging Face {@code config.json} that decoder-only models use, with the defaults the
 * transformers config classes apply. {@code raw} keeps the whole document for architecture-specific keys.
 * {@code ropeInterleaved} is true for weights in Meta's original layout (GGUF llama files), whose RoPE
 * rotates adjacent pairs; Hugging Face checkpoints use the rotate-half layout.
 */
public record ModelConfig(
        String architecture,
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        int maxPositionEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        JsonNode ropeScaling,
        double partialRotaryFactor,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        List<Integer> bosTokenIds,
        List<Integer> eosTokenIds,
        String torchDtype,
        boolean ropeInterleaved,
        JsonNode raw) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static ModelConfig load(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("config.json not found in " + dir
                    + ": --model must name a Hugging Face model directory (config.json, *.safetensors, tokenizer.json) or a .gguf file");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(file + " is not valid JSON: " + e.getMessage());
        }
        ModelConfig c = parse(root, file.toString());
        // generation_config.json may add EOS ids (e.g. Llama 3 instruct's <|eot_id|>).
        Path gen = dir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            try {
                JsonNode g = JSON.readTree(gen.toFile());
                List<Integer> eos = new ArrayList<>(c.eosTokenIds());
                for (Integer id : ids(g.path("eos_token_id"))) {
                    if (!eos.contains(id)) {
                        eos.add(id);
                    }
                }
                c = c.withEos(eos);
            } catch (IOException e) {
                throw new ModelLoadException(gen + " is not valid JSON: " + e.getMessage());
            }
        }
        return c;
    }

    public static ModelConfig parse(JsonNode root, String source) {
        JsonNode archs = root.path("architectures");
        String arch = archs.isArray() && !archs.isEmpty() ? archs.get(0).asText() : null;
        if (arch == null) {
            throw new ModelLoadException(source + " has no \"architectures\" entry; cannot tell which model this is");
        }
        if (arch.equals("Gemma3ForConditionalGeneration") || root.path("model_type").asText("").equals("gemma3_text")) {
            root = gemma3Text(root, arch);
        }
        int hidden = req(root, "hidden_size", source);
        int heads = req(root, "num_attention_heads", source);
        int kvHeads = root.path("num_key_value_heads").isNumber() ? root.get("num_key_value_heads").asInt() : heads;
        int headDim = root.path("head_dim").isNumber() ? root.get("head_dim").asInt() : hidden / heads;
        return new ModelConfig(
                arch,
                root.path("model_type").asText(""),
                hidden,
                root.path("intermediate_size").asInt(0),
                req(root, "num_hidden_layers", source),
                heads,
                kvHeads,
                headDim,
                req(root, "vocab_size", source),
                root.path("max_position_embeddings").asInt(2048),
                root.path("rms_norm_eps").asDouble(1e-6),
                root.path("rope_theta").asDouble(10000.0),
                root.path("rope_scaling").isObject() ? root.get("rope_scaling") : null,
                root.path("partial_rotary_factor").asDouble(1.0),
                root.path("tie_word_embeddings").asBoolean(false),
                root.path("attention_bias").asBoolean(false),
                ids(root.path("bos_token_id")),
                ids(root.path("eos_token_id")),
                root.path("torch_dtype").asText(root.path("dtype").asText("")),
                false,
                root);
    }

    /**
     * Gemma 3's text model as a text-only config: a multimodal config's {@code text_config} (with the top level's token ids
     * and dtype where it has none), and the defaults of transformers' {@code Gemma3TextConfig} for every key left out
     * (Google's multimodal configs list only what differs from them).
     */
    private static JsonNode gemma3Text(JsonNode root, String arch) {
        com.fasterxml.jackson.databind.node.ObjectNode c;
        if (root.path("text_config").isObject()) {
            c = ((com.fasterxml.jackson.databind.node.ObjectNode) root.get("text_config")).deepCopy();
            c.set("architectures", root.get("architectures"));
            for (String k : List.of("bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype", "dtype", "quantization_config")) {
                if (!c.has(k) && root.has(k)) {
                    c.set(k, root.get(k));
                }
            }
        } else {
            c = ((com.fasterxml.jackson.databind.node.ObjectNode) root).deepCopy();
        }
        c.put("model_type", "gemma3_text");
        Object[][] defaults = {{"vocab_size", 262_208}, {"hidden_size", 2304}, {"intermediate_size", 9216}, {"num_hidden_layers", 26},
                {"num_attention_heads", 8}, {"num_key_value_heads", 4}, {"head_dim", 256}, {"max_position_embeddings", 131_072},
                {"rms_norm_eps", 1e-6}, {"rope_theta", 1_000_000.0}, {"query_pre_attn_scalar", 256}, {"sliding_window", 4096},
                {"rope_local_base_freq", 10_000.0}, {"sliding_window_pattern", 6}, {"tie_word_embeddings", true},
                {"bos_token_id", 2}, {"eos_token_id", 1}, {"pad_token_id", 0}, {"hidden_activation", "gelu_pytorch_tanh"}};
        for (Object[] d : defaults) {
            String k = (String) d[0];
            if (c.has(k) && !c.get(k).isNull()) {
                continue;
            }
            switch (d[1]) {
                case Integer i -> c.put(k, i);
                case Double v -> c.put(k, v);
                case Boolean b -> c.put(k, b);
                default -> c.put(k, (String) d[1]);
            }
        }
        return c;
    }

    private static int req(JsonNode root, String key, String source) {
        JsonNode n = root.path(key);
        if (!n.isNumber()) {
            throw new ModelLoadException(source + " is missing the number \"" + key + "\"");
        }
        return n.asInt();
    }

    private static List<Integer> ids(JsonNode n) {
        List<Integer> out = new ArrayList<>();
        if (n.isNumber()) {
            out.add(n.asInt());
        } else if (n.isArray()) {
            n.forEach(e -> out.add(e.asInt()));
        }
        return List.copyOf(out);
    }

    public ModelConfig withRopeInterleaved(boolean interleaved) {
        return new ModelConfig(architecture, modelType, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                vocabSize, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, partialRotaryFactor, tieWordEmbeddings,
                attentionBias, bosTokenIds, eosTokenIds, torchDtype, interleaved, raw);
    }

    public ModelConfig withEos(List<Integer> eos) {
        return new ModelConfig(architecture, modelType, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                vocabSize, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, partialRotaryFactor, tieWordEmbeddings,
                attentionBias, bosTokenIds, List.copyOf(eos), torchDtype, ropeInterleaved, raw);
    }

    /** Context length the model was trained for (the larger of max_position_embeddings and any RoPE extension). */
    public int contextLength() {
        return maxPositionEmbeddings;
    }

    public boolean rawBoolean(String key, boolean dflt) {
        return raw.path(key).asBoolean(dflt);
    }
}
