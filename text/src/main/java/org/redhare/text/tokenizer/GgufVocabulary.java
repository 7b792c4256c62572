package org.redhare.text.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.redhare.text.TokenizerException;

/**
 * A Hugging Face tokenizer (tokenizer.json, tokenizer_config.json) as GGUF {@code tokenizer.*} metadata, so a GGUF
 * that RedHare writes carries its vocabulary the way llama.cpp's converter lays it down and the way
 * {@link GgufTokenizerLoader} (and llama.cpp) read it back: {@code tokenizer.ggml.model} "gpt2" (byte-level BPE),
 * {@code tokenizer.ggml.pre} naming the pre-tokenizer, the tokens by id with their types, the merges, the special
 * token ids, and the chat template.
 *
 * <p>Byte-level BPE vocabularies with a pre-tokenizer llama.cpp names are written: Qwen2/2.5/3 ("qwen2"), Llama 3
 * ("llama-bpe"), DeepSeek-V3/R1 ("deepseek-v3") and GPT-2's own ("gpt-2"). SentencePiece-style BPE vocabularies
 * (byte fallback, spaces as "▁": Gemma 2/3, Mistral, Llama 2) are written as llama.cpp's "llama" vocabulary: tokens,
 * types and scores, where each token's score is minus the rank of the first merge that makes it, so that merging the
 * adjacent pair of highest score (llama.cpp's SentencePiece loop) merges what the merge list would. Other layouts
 * (other split patterns, normalizers) are refused rather than guessed: a wrong pre-tokenizer name silently changes
 * token ids in every reader.
 */
public final class GgufVocabulary {
    private static final ObjectMapper JSON = new ObjectMapper();
    // llama_token_type in llama.cpp: 1 normal, 3 control, 4 user defined, 5 unused.
    private static final int NORMAL = 1;
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;
    private static final int UNUSED = 5;
    // DeepSeek-V3's tokenizer.json pre-tokenizer begins with these two splits (digits in threes, then CJK runs).
    private static final String DEEPSEEK_V3_DIGITS = "\\p{N}{1,3}";
    private static final String DEEPSEEK_V3_CJK = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+";

    private GgufVocabulary() {}

    /**
     * The metadata for the tokenizer in {@code dir}, with the token list padded to {@code vocabSize} (the model's
     * embedding rows; unused ids become "[PADn]" tokens of type unused, as llama.cpp's converter names them).
     */
    public static Map<String, Object> fromHuggingFace(Path dir, int vocabSize) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException(dir + " has no tokenizer.json, so there is no vocabulary to write into the GGUF");
        }
        JsonNode root = JSON.readTree(file.toFile());
        JsonNode model = root.path("model");
        if (!model.path("type").asText("BPE").equals("BPE") || !model.path("vocab").isObject()) {
            throw new TokenizerException(file + ": only BPE vocabularies can be written into a GGUF (this is "
                    + model.path("type").asText("?") + ")");
        }
        Boolean spacePrefix = sentencePieceSpacePrefix(root);
        if (spacePrefix != null) {
            return sentencePiece(dir, root, vocabSize, spacePrefix);
        }
        String pre = preName(root.path("pre_tokenizer"));
        if (pre == null) {
            throw new TokenizerException(file + ": its pre-tokenizer " + abbreviate(root.path("pre_tokenizer").toString())
                    + " is not one GGUF names that RedHare writes (Qwen2/Qwen3, Llama 3, DeepSeek-V3, GPT-2 byte-level BPE)");
        }

        int maxId = vocabSize - 1;
        var vocab = model.path("vocab").properties();
        for (var e : vocab) maxId = Math.max(maxId, e.getValue().asInt());
        for (JsonNode a : root.path("added_tokens")) maxId = Math.max(maxId, a.path("id").asInt());
        String[] tokens = new String[maxId + 1];
        int[] types = new int[maxId + 1];
        for (var e : vocab) {
            int id = e.getValue().asInt();
            tokens[id] = e.getKey();
            types[id] = NORMAL;
        }
        for (JsonNode a : root.path("added_tokens")) {
            int id = a.path("id").asInt();
            tokens[id] = a.path("content").asText();
            types[id] = a.path("special").asBoolean(false) ? CONTROL : USER_DEFINED;
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
            }
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
        }

        Map<String, Object> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", "gpt2");
        md.put("tokenizer.ggml.pre", pre);
        md.put("tokenizer.ggml.tokens", Arrays.asList(tokens));
        md.put("tokenizer.ggml.token_type", types);
        md.put("tokenizer.ggml.merges", merges);

        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < tokens.length; i++) ids.putIfAbsent(tokens[i], i);
        putSpecialTokensAndTemplate(md, dir, root, ids);
        return md;
    }

    /**
     * The BOS, EOS and padding token ids, whether encoding adds BOS, and the chat template, into {@code md}. BOS: the token
     * tokenizer.json's post-processor puts first (Llama 3, Gemma, Mistral), else tokenizer_config's bos_token; whether
     * encoding adds it follows tokenizer.json too (as RedHare's and the tokenizers library's encoders do), not
     * tokenizer_config's add_bos_token, which DeepSeek-V3 sets while its post-processor adds nothing.
     */
    private static void putSpecialTokensAndTemplate(Map<String, Object> md, Path dir, JsonNode root, Map<String, Integer> ids)
            throws IOException {
        JsonNode config = JSON.createObjectNode();
        Path configFile = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(configFile)) {
            config = JSON.readTree(configFile.toFile());
        }
        String prefix = templatePrefix(root.path("post_processor"));
        Integer bos = prefix != null ? ids.get(prefix) : ids.get(tokenText(config.path("bos_token")));
        if (bos != null) {
            md.put("tokenizer.ggml.bos_token_id", bos);
        }
        md.put("tokenizer.ggml.add_bos_token", prefix != null);
        Integer eos = ids.get(tokenText(config.path("eos_token")));
        if (eos != null) {
            md.put("tokenizer.ggml.eos_token_id", eos);
        }
        Integer pad = ids.get(tokenText(config.path("pad_token")));
        if (pad != null) {
            md.put("tokenizer.ggml.padding_token_id", pad);
        }
        String template = chatTemplate(dir, config);
        if (template != null) {
            md.put("tokenizer.chat_template", template);
        }
    }

    /**
     * Whether a SentencePiece-style BPE tokenizer.json (byte fallback; spaces become "▁" and nothing else splits the
     * text) prepends a space to the text, as llama.cpp's {@code add_space_prefix}; null when it is not of that kind. The
     * layouts: normalizer Replace(" ", "▁") alone (Gemma; a Split on " " after it finds no space left) or after
     * Prepend("▁") (Mistral, Llama 2), no other pre-tokenizer; or no normalizer and a Metaspace pre-tokenizer that does
     * not split (prepend scheme "first" or "always": a prefix; "never": none).
     */
    static Boolean sentencePieceSpacePrefix(JsonNode root) {
        JsonNode model = root.path("model");
        if (!model.path("byte_fallback").asBoolean(false)) {
            return null;
        }
        JsonNode norm = root.path("normalizer");
        JsonNode pre = root.path("pre_tokenizer");
        boolean noPre = pre.isMissingNode() || pre.isNull()
                || (pre.path("type").asText().equals("Split") && pre.path("pattern").path("String").asText("").equals(" "));
        if (norm.isMissingNode() || norm.isNull()) {
            if (pre.path("type").asText().equals("Metaspace") && pre.path("replacement").asText().equals("\u2581")
                    && !pre.path("split").asBoolean(true)) {
                return !pre.path("prepend_scheme").asText("always").equals("never");
            }
            return null;
        }
        if (!noPre) {
            return null;
        }
        if (isSpaceReplace(norm)) {
            return false;
        }
        if (norm.path("type").asText().equals("Sequence") && norm.path("normalizers").size() == 2) {
            JsonNode first = norm.path("normalizers").get(0);
            if (first.path("type").asText().equals("Prepend") && first.path("prepend").asText().equals("\u2581")
                    && isSpaceReplace(norm.path("normalizers").get(1))) {
                return true;
            }
        }
        return null;
    }

    private static boolean isSpaceReplace(JsonNode n) {
        return n.path("type").asText().equals("Replace") && n.path("pattern").path("String").asText("").equals(" ")
                && n.path("content").asText().equals("\u2581");
    }

    // llama_token_type: 2 unknown, 6 byte.
    private static final int UNKNOWN = 2;
    private static final int BYTE = 6;

    /** {@link #fromHuggingFace} for a SentencePiece-style BPE vocabulary ({@link #sentencePieceSpacePrefix}). */
    private static Map<String, Object> sentencePiece(Path dir, JsonNode root, int vocabSize, boolean spacePrefix) throws IOException {
        JsonNode model = root.path("model");
        int maxId = vocabSize - 1;
        for (var e : model.path("vocab").properties()) maxId = Math.max(maxId, e.getValue().asInt());
        for (JsonNode a : root.path("added_tokens")) maxId = Math.max(maxId, a.path("id").asInt());
        String[] tokens = new String[maxId + 1];
        int[] types = new int[maxId + 1];
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (var e : model.path("vocab").properties()) {
            int id = e.getValue().asInt();
            tokens[id] = e.getKey();
            types[id] = e.getKey().matches("<0x[0-9A-F]{2}>") ? BYTE : NORMAL;
            ids.putIfAbsent(e.getKey(), id);
        }
        // Scores: minus the rank of the first merge that makes a token; tokens no merge makes score below them all.
        float[] scores = new float[maxId + 1];
        Arrays.fill(scores, Float.NaN);
        int rank = 0;
        for (JsonNode m : model.path("merges")) {
            String a, b;
            if (m.isArray()) {
                a = m.get(0).asText();
                b = m.get(1).asText();
            } else {
                String s = m.asText();
                int sp = s.indexOf(' ', 1);
                if (sp < 0) continue;
                a = s.substring(0, sp);
                b = s.substring(sp + 1);
            }
            Integer c = ids.get(a + b);
            if (c != null && Float.isNaN(scores[c])) {
                scores[c] = -rank;
            }
            rank++;
        }
        if (rank >= 1 << 24) {
            throw new TokenizerException(dir + ": " + rank + " merges are more than a float score ranks exactly");
        }
        for (int i = 0; i < scores.length; i++) {
            if (Float.isNaN(scores[i])) scores[i] = -(float) (1 << 24);
        }
        String unk = model.path("unk_token").asText(null);
        if (unk != null && ids.containsKey(unk)) {
            types[ids.get(unk)] = UNKNOWN;
        }
        for (JsonNode a : root.path("added_tokens")) {
            int id = a.path("id").asInt();
            tokens[id] = a.path("content").asText();
            ids.putIfAbsent(tokens[id], id);
            if (types[id] != UNKNOWN) {
                types[id] = a.path("special").asBoolean(false) ? CONTROL : USER_DEFINED;
            }
            scores[id] = 0f;
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
                scores[i] = -(float) (1 << 24);
            }
        }
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", "llama");
        md.put("tokenizer.ggml.tokens", Arrays.asList(tokens));
        md.put("tokenizer.ggml.scores", scores);
        md.put("tokenizer.ggml.token_type", types);
        md.put("tokenizer.ggml.add_space_prefix", spacePrefix);
        if (unk != null && ids.containsKey(unk)) {
            md.put("tokenizer.ggml.unknown_token_id", ids.get(unk));
        }
        md.put("tokenizer.ggml.add_eos_token", false); // none of these tokenizers ends an encoding with EOS
        putSpecialTokensAndTemplate(md, dir, root, ids);
        return md;
    }

    /** llama.cpp's name for a tokenizer.json pre-tokenizer, or null when it is none RedHare recognises. */
    static String preName(JsonNode pre) {
        List<JsonNode> steps = new ArrayList<>();
        if (pre.path("type").asText().equals("Sequence")) {
            pre.path("pretokenizers").forEach(steps::add);
        } else if (!pre.isMissingNode() && !pre.isNull()) {
            steps.add(pre);
        }
        List<String> splits = new ArrayList<>();
        boolean byteLevel = false;
        boolean byteLevelRegex = false;
        for (JsonNode s : steps) {
            switch (s.path("type").asText()) {
                case "Split" -> splits.add(s.path("pattern").path("Regex").asText(null));
                case "ByteLevel" -> {
                    byteLevel = true;
                    byteLevelRegex = s.path("use_regex").asBoolean(true);
                }
                default -> {
                    return null;
                }
            }
        }
        if (!byteLevel) {
            return null;
        }
        if (splits.isEmpty()) {
            return byteLevelRegex ? "gpt-2" : null;
        }
        if (byteLevelRegex) {
            return null; // a split followed by GPT-2's regex again: not a layout GGUF names
        }
        if (splits.size() == 1 && WordSplitter.QWEN2_REGEX.equals(splits.get(0))) {
            return "qwen2";
        }
        if (splits.size() == 1 && WordSplitter.LLAMA3_REGEX.equals(splits.get(0))) {
            return "llama-bpe";
        }
        if (splits.size() == 3 && DEEPSEEK_V3_DIGITS.equals(splits.get(0)) && DEEPSEEK_V3_CJK.equals(splits.get(1))) {
            return "deepseek-v3";
        }
        return null;
    }

    /** The special token a TemplateProcessing post-processor puts before a single sequence, or null. */
    private static String templatePrefix(JsonNode post) {
        if (post.path("type").asText().equals("Sequence")) {
            for (JsonNode p : post.path("processors")) {
                String s = templatePrefix(p);
                if (s != null) return s;
            }
            return null;
        }
        if (!post.path("type").asText().equals("TemplateProcessing")) {
            return null;
        }
        JsonNode first = post.path("single").path(0);
        return first.has("SpecialToken") ? first.path("SpecialToken").path("id").asText(null) : null;
    }

    private static String tokenText(JsonNode n) {
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.path("content").isTextual()) return n.path("content").asText();
        return null;
    }

    private static String chatTemplate(Path dir, JsonNode config) throws IOException {
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            return Files.readString(jinja);
        }
        JsonNode t = config.path("chat_template");
        if (t.isTextual()) {
            return t.asText();
        }
        for (JsonNode named : t) { // a list of {name, template}: the default one
            if (named.path("name").asText().equals("default")) {
                return named.path("template").asText();
            }
        }
        return null;
    }

    private static String abbreviate(String s) {
        return s.length() <= 160 ? s : s.substring(0, 157) + "...";
    }
}
