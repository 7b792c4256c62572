package org.redhare.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.redhare.model.gguf.GgufFile;
import org.redhare.text.template.ChatTemplate;
import org.redhare.text.template.ChatTemplates;
import org.redhare.text.template.ReasoningParser;
import org.redhare.text.tools.ToolCallFormat;
import org.redhare.text.tools.ToolMessages;

/**
 * A model's text side in one place: its tokenizer, its chat templates, and the tokens that end a turn.
 * The CLI and the server both turn prompts and conversations into token ids through this, so they
 * agree exactly (as Hugging Face's {@code tokenizer(text)} and {@code apply_chat_template} do).
 */
public final class ModelText {
    /**
     * End-of-turn and end-of-text markers of the common chat formats. A model's generation_config.json
     * usually lists its stop ids, but many checkpoints (and synthetic ones) omit it, and a chat model
     * that runs past its end-of-turn token rambles on as the other speaker; so any of these that the
     * vocabulary holds as a special token also stops a chat reply (llama.cpp does the same).
     */
    private static final List<String> END_OF_TURN = List.of(
            "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "<|eom_id|>", "</s>", "<|end|>",
            "<end_of_turn>", "<｜end▁of▁sentence｜>", "<|return|>");

    private final Tokenizer tokenizer;
    private final ChatTemplates templates; // null when the model ships none
    private final Set<Integer> stopIds;
    private final int forcedBos; // -1 unless tokenizer_config.json asks for BOS that tokenizer.json's post-processor does not add

    private ModelText(Tokenizer tokenizer, ChatTemplates templates, boolean addBosToken) {
        this.tokenizer = tokenizer;
        this.templates = templates;
        this.forcedBos = addBosToken && tokenizer.bosToken() != null ? tokenizer.tokenId(tokenizer.bosToken()).orElse(-1) : -1;
        Set<Integer> ids = new LinkedHashSet<>();
        String eos = tokenizer.eosToken() != null ? tokenizer.eosToken() : templates != null ? templates.eosToken() : null;
        if (eos != null) {
            tokenizer.tokenId(eos).ifPresent(ids::add);
        }
        for (String s : END_OF_TURN) {
            OptionalInt id = tokenizer.tokenId(s);
            if (id.isPresent() && tokenizer.isSpecial(id.getAsInt())) {
                ids.add(id.getAsInt());
            }
        }
        this.stopIds = Set.copyOf(ids);
    }

    /**
     * The tokenizer and chat templates of a Hugging Face folder or a GGUF file; empty when the model has
     * no tokenizer (a folder without tokenizer.json: then only token ids work).
     *
     * @throws TokenizerException when a tokenizer is there but cannot be read
     */
    public static Optional<ModelText> load(Path model) throws IOException {
        if (Files.isDirectory(model) && !Files.exists(model.resolve("tokenizer.json")) && !Files.exists(model.resolve("tokenizer.model"))) {
            return Optional.empty();
        }
        if (Files.isRegularFile(model) && model.getFileName().toString().endsWith(".gguf")) {
            try (GgufFile gguf = GgufFile.open(model)) {
                if (!gguf.metadata().containsKey("tokenizer.ggml.tokens")) {
                    return Optional.empty();
                }
            }
        }
        Tokenizer tokenizer = Tokenizers.load(model);
        boolean addBos = false;
        Path config = Files.isDirectory(model) ? model.resolve("tokenizer_config.json") : null;
        if (config != null && Files.isRegularFile(config)) {
            addBos = new ObjectMapper().readTree(config.toFile()).path("add_bos_token").asBoolean(false);
        }
        return Optional.of(new ModelText(tokenizer, ChatTemplates.load(model).orElse(null), addBos));
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Optional<ChatTemplates> templates() {
        return Optional.ofNullable(templates);
    }

    /**
     * Token ids of a plain prompt as transformers' {@code tokenizer(text)} gives them: special-token text
     * parsed, the post-processor applied, and BOS first when tokenizer_config.json sets add_bos_token.
     */
    public int[] encodePrompt(String text) {
        int[] ids = tokenizer.encode(text, true, true);
        if (forcedBos >= 0 && (ids.length == 0 || ids[0] != forcedBos)) {
            // transformers rebuilds the post-processor from add_bos_token for Llama-style tokenizers
            // (DeepSeek-V3's tokenizer.json itself adds none), so tokenizer(text) starts with BOS
            int[] withBos = new int[ids.length + 1];
            withBos[0] = forcedBos;
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            return withBos;
        }
        return ids;
    }

    /**
     * The conversation rendered with the model's chat template ("tool_use" when tools are given and
     * the model has one). {@code extra} holds further template variables (e.g. enable_thinking);
     * bos_token and eos_token are filled in unless given.
     *
     * @throws TokenizerException when the model has no chat template
     */
    public String renderChat(List<Map<String, Object>> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt,
                             Map<String, Object> extra) {
        if (templates == null) {
            throw new TokenizerException("this model ships no chat template (no chat_template in tokenizer_config.json"
                    + " or the GGUF metadata); send a plain prompt instead, or pass a template file where the command offers one");
        }
        ChatTemplate template = templates.select(tools != null && !tools.isEmpty());
        Map<String, Object> vars = new LinkedHashMap<>(templates.specialTokens());
        if (extra != null) {
            vars.putAll(extra);
        }
        return template.render(ToolMessages.forTemplate(messages, template.source()), tools, addGenerationPrompt, vars);
    }

    /**
     * The format this model writes tool calls in, judged from the template it renders tools with (and failing that from
     * its vocabulary); empty when the model has no template or neither says.
     */
    public Optional<ToolCallFormat> toolCallFormat() {
        return ToolCallFormat.detect(toolTemplateSource().orElse(null), s -> tokenizer.tokenId(s).isPresent());
    }

    /** The source of the template this model renders tools with; empty when it has none (or several and no default). */
    public Optional<String> toolTemplateSource() {
        if (templates == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(templates.select(true).source());
        } catch (IllegalStateException e) {
            return Optional.empty(); // several templates and no default: renderChat fails with the reason
        }
    }

    /**
     * A streaming decoder that skips special tokens except {@code keep} (tool-call markers that some vocabularies count
     * as special, such as Mistral's [TOOL_CALLS]): those come out as their text so a tool-call parser can see them.
     */
    public Detokenizer detokenizer(java.util.Collection<String> keep) {
        Set<Integer> kept = new java.util.HashSet<>();
        for (String k : keep) {
            tokenizer.tokenId(k).ifPresent(id -> {
                if (tokenizer.isSpecial(id)) {
                    kept.add(id);
                }
            });
        }
        Detokenizer inner = tokenizer.detokenizer(true);
        if (kept.isEmpty()) {
            return inner;
        }
        return new Detokenizer() {
            @Override
            public String push(int id) {
                if (kept.contains(id)) {
                    // the text decoded so far is complete at a special token; the marker follows it
                    return inner.flush() + tokenizer.decode(new int[] {id}, false);
                }
                return inner.push(id);
            }

            @Override
            public String flush() {
                return inner.flush();
            }
        };
    }

    /**
     * Token ids of a rendered conversation, as {@code apply_chat_template(tokenize=True)}: the template
     * writes BOS itself, so no special tokens are added, and special-token text is parsed.
     */
    public int[] encodeRendered(String rendered) {
        return tokenizer.encode(rendered, false, true);
    }

    /** Tokens that end a reply: the tokenizer's EOS and the end-of-turn markers it has. */
    public Set<Integer> stopTokenIds() {
        return stopIds;
    }

    /** Splits reasoning from the answer for text generated after this rendered prompt. */
    public ReasoningParser reasoning(String renderedPrompt) {
        return ReasoningParser.forPrompt(renderedPrompt);
    }
}
