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
