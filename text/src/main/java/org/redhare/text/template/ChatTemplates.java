package org.redhare.text.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.redhare.model.gguf.GgufFile;

/**
 * The chat templates a model ships, by name ("default", "tool_use", ...), with the BOS/EOS token strings found beside
 * them. Templates compile on first use, so a broken template that is never selected does not stop a model loading.
 */
public final class ChatTemplates {

    public static final String DEFAULT = "default";
    public static final String TOOL_USE = "tool_use";

    private final Map<String, String> sources;          // name -> template text, in the order the model lists them
    private final String bosToken;
    private final String eosToken;
    private final Map<String, ChatTemplate> compiled = new ConcurrentHashMap<>();

    public ChatTemplates(Map<String, String> sources, String bosToken, String eosToken) {
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("ChatTemplates needs at least one template");
        }
        this.sources = Collections.unmodifiableMap(new LinkedHashMap<>(sources));
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /**
     * Reads the templates of a model: a Hugging Face folder (chat_template.jinja, additional_chat_templates/*.jinja,
     * tokenizer_config.json's chat_template as a string or as a list of {name, template}, or chat_template.json), a
     * tokenizer_config.json file, or a .gguf file (tokenizer.chat_template and tokenizer.chat_template.NAME).
     *
     * @return empty when the model carries no chat template
     * @throws IOException when a file exists but cannot be read or parsed (the message names the file)
     */
    public static Optional<ChatTemplates> load(Path modelDirOrGguf) throws IOException {
        if (Files.isDirectory(modelDirOrGguf)) {
            return loadHfFolder(modelDirOrGguf, modelDirOrGguf.resolve("tokenizer_config.json"));
        }
        if (!Files.isRegularFile(modelDirOrGguf)) {
            throw new IOException("no model at " + modelDirOrGguf
                    + ": expected a Hugging Face model folder, a tokenizer_config.json or a .gguf file");
        }
        if (isGguf(modelDirOrGguf)) {
            return loadGguf(modelDirOrGguf);
        }
        Path dir = modelDirOrGguf.toAbsolutePath().getParent();
        return loadHfFolder(dir, modelDirOrGguf);
    }

    private static boolean isGguf(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
        }
    }

    private static Optional<ChatTemplates> loadHfFolder(Path dir, Path config) throws IOException {
        Map<String, String> templates = new LinkedHashMap<>();
        String bos = null;
        String eos = null;
        ObjectMapper json = new ObjectMapper();
        if (Files.isRegularFile(config)) {
            JsonNode root;
            try {
                root = json.readTree(config.toFile());
            } catch (IOException e) {
                throw new IOException("cannot parse " + config + ": " + e.getMessage(), e);
            }
            readTemplateField(root.get("chat_template"), templates, config);
            bos = tokenString(root.get("bos_token"));
            eos = tokenString(root.get("eos_token"));
        }
        Path legacy = dir.resolve("chat_template.json");          // processors of multimodal models
        if (templates.isEmpty() && Files.isRegularFile(legacy)) {
            try {
                readTemplateField(json.readTree(legacy.toFile()).get("chat_template"), templates, legacy);
            } catch (IOException e) {
                throw new IOException("cannot parse " + legacy + ": " + e.getMessage(), e);
            }
        }
        // transformers >= 4.43 saves templates as files; they take precedence over the JSON field.
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            templates.put(DEFAULT, Files.readString(jinja, StandardCharsets.UTF_8));
        }
        Path extra = dir.resolve("additional_chat_templates");
        if (Files.isDirectory(extra)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(extra, "*.jinja")) {
                for (Path f : files) {
                    String name = f.getFileName().toString();
                    templates.put(name.substring(0, name.length() - ".jinja".length()),
                            Files.readString(f, StandardCharsets.UTF_8));
                }
            }
        }
        return templates.isEmpty() ? Optional.empty() : Optional.of(new ChatTemplates(templates, bos, eos));
    }

    private static void readTemplateField(JsonNode field, Map<String, String> out, Path file) throws IOException {
        if (field == null || field.isNull()) {
            return;
        }
        if (field.isTextual()) {
            out.put(DEFAULT, field.asText());
        } else if (field.isArray()) {
            for (JsonNode entry : field) {
                JsonNode name = entry.get("name");
                JsonNode template = entry.get("template");
                if (name == null || !name.isTextual() || template == null || !template.isTextual()) {
                    throw new IOException(file + ": chat_template list entries must be {\"name\": ..., \"template\": ...}");
                }
                out.put(name.asText(), template.asText());
            }
        } else {
            throw new IOException(file + ": chat_template must be a string or a list of {name, template}, got "
                    + field.getNodeType());
        }
    }

    /** bos_token/eos_token are strings or AddedToken objects {"content": ...}. */
    private static String tokenString(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        JsonNode content = node.get("content");
        return content != null && content.isTextual() ? content.asText() : null;
    }

    private static Optional<ChatTemplates> loadGguf(Path file) throws IOException {
        try (GgufFile gguf = GgufFile.open(file)) {
            Map<String, Object> meta = gguf.metadata();
            Map<String, String> templates = new LinkedHashMap<>();
            if (meta.get("tokenizer.chat_template") instanceof String s) {
                templates.put(DEFAULT, s);
            }
            String prefix = "tokenizer.chat_template.";
            for (Map.Entry<String, Object> e : meta.entrySet()) {
                if (e.getKey().startsWith(prefix) && e.getValue() instanceof String s) {
                    templates.put(e.getKey().substring(prefix.length()), s);
                }
            }
            if (templates.isEmpty()) {
                return Optional.empty();
            }
            String bos = null;
            String eos = null;
            if (meta.get("tokenizer.ggml.tokens") instanceof List<?> tokens) {
                bos = tokenAt(tokens, meta.get("tokenizer.ggml.bos_token_id"));
                eos = tokenAt(tokens, meta.get("tokenizer.ggml.eos_token_id"));
            }
            return Optional.of(new ChatTemplates(templates, bos, eos));
        }
    }

    private static String tokenAt(List<?> tokens, Object id) {
        if (!(id instanceof Number n)) {
            return null;
        }
        long i = n.longValue();
        return i >= 0 && i < tokens.size() && tokens.get((int) i) instanceof String s ? s : null;
    }

    /**
     * The template to use: "tool_use" when tools are given and the model has one, else "default" (or the only
     * template).
     *
     * @throws IllegalStateException when the model has several named templates and none is called "default"
     */
    public ChatTemplate select(boolean hasTools) {
        if (hasTools && sources.containsKey(TOOL_USE)) {
            return template(TOOL_USE);
        }
        if (sources.containsKey(DEFAULT)) {
            return template(DEFAULT);
        }
        if (sources.size() == 1) {
            return template(sources.keySet().iterator().next());
        }
        throw new IllegalStateException("this model has several chat templates " + sources.keySet()
                + " and none is named 'default'; choose one by name with template(name)");
    }

    /**
     * A template by name, compiled on first use.
     *
     * @throws IllegalArgumentException when there is no template of that name (the message lists the names)
     * @throws TemplateException        when the template does not parse
     */
    public ChatTemplate template(String name) {
        String src = sources.get(name);
        if (src == null) {
            throw new IllegalArgumentException("no chat template named '" + name + "'; this model has " + sources.keySet());
        }
        return compiled.computeIfAbsent(name, n -> ChatTemplate.compile(src));
    }

    /** The template text by name, or null. */
    public String source(String name) {
        return sources.get(name);
    }

    public Set<String> names() {
        return sources.keySet();
    }

    /** The BOS token string, or null when the model has none (Qwen): then leave bos_token undefined when rendering. */
    public String bosToken() {
        return bosToken;
    }

    /** The EOS token string, or null when none was found. */
    public String eosToken() {
        return eosToken;
    }

    /** bos_token and eos_token as render variables (absent when unknown), for {@link ChatTemplate#render}'s extra. */
    public Map<String, Object> specialTokens() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (bosToken != null) {
            m.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            m.put("eos_token", eosToken);
        }
        return m;
    }
}
