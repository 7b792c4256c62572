package org.redhare.text.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.redhare.text.TokenizerException;

/** Builds a {@link PipelineTokenizer} from a Hugging Face tokenizer.json (and tokenizer_config.json beside it). */
public final class HfTokenizerLoader {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** GPT-2's pre-tokenizer regex, used by ByteLevel with use_regex. */
    static final String GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final Path file;
    private boolean byteLevel;

    private HfTokenizerLoader(Path file) {
        this.file = file;
    }

    public static PipelineTokenizer load(Path tokenizerJson, Path tokenizerConfigJson) throws IOException {
        return new HfTokenizerLoader(tokenizerJson).build(tokenizerConfigJson);
    }

    private PipelineTokenizer build(Path configJson) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new TokenizerException(file + " is not valid JSON (" + e.getOriginalMessage()
                    + "); expected a Hugging Face tokenizer.json", e);
        }
        JsonNode modelNode = root.path("model");
        if (modelNode.isMissingNode() || modelNode.isNull()) {
            throw fail("has no \"model\" section; expected a Hugging Face tokenizer.json");
        }
        String modelType = modelNode.path("type").asText(modelNode.has("merges") ? "BPE" : "");
        if (!modelType.equals("BPE")) {
            throw fail("uses model type \"" + modelType + "\"; only BPE models (byte-level and SentencePiece-style) are supported");
        }

        TextNormalizer normalizer = normalizer(root.path("normalizer"));
        PreTokenizer pre = preTokenizer(root.path("pre_tokenizer"), true);

        Map<String, Integer> vocab = new HashMap<>(modelNode.path("vocab").size() * 2);
        int maxId = -1;
        for (Iterator<Map.Entry<String, JsonNode>> it = modelNode.path("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt();
            vocab.put(e.getKey(), id);
            maxId = Math.max(maxId, id);
        }
        List<AddedToken> added = new ArrayList<>();
        for (JsonNode a : root.path("added_tokens")) {
            AddedToken t = new AddedToken(a.path("id").asInt(), a.path("content").asText(), a.path("special").asBoolean(false),
                    a.path("normalized").asBoolean(!a.path("special").asBoolean(false)), a.path("lstrip").asBoolean(false),
                    a.path("rstrip").asBoolean(false), a.path("single_word").asBoolean(false));
            added.add(t);
            maxId = Math.max(maxId, t.id());
        }
        String[] idToToken = new String[maxId + 1];
        Map<String, Integer> tokenToId = new HashMap<>(vocab);
        for (Map.Entry<String, Integer> e : vocab.entrySet()) idToToken[e.getValue()] = e.getKey();
        for (AddedToken t : added) {
            idToToken[t.id()] = t.content();
            tokenToId.put(t.content(), t.id());
        }

        String prefix = modelNode.path("continuing_subword_prefix").asText("");
        String suffix = modelNode.path("end_of_word_suffix").asText("");
        if (!prefix.isEmpty() || !suffix.isEmpty()) {
            throw fail("BPE with continuing_subword_prefix/end_of_word_suffix (\"" + prefix + "\"/\"" + suffix
                    + "\") is not supported; it is used by WordPiece-like BPE models, not by byte-level or SentencePiece ones");
        }
        JsonNode mergesNode = modelNode.path("merges");
        MergeTable merges = new MergeTable(mergesNode.size());
        int rank = 0;
        for (JsonNode m : mergesNode) {
            String a;
            String b;
            if (m.isArray()) {
                a = m.get(0).asText();
                b = m.get(1).asText();
            } else {
                String s = m.asText();
                int sp = s.indexOf(' ', 1);
                if (sp < 0) throw fail("has a malformed merge \"" + s + "\" (expected \"left right\")");
                a = s.substring(0, sp);
                b = s.substring(sp + 1);
            }
            Integer ia = vocab.get(a);
            Integer ib = vocab.get(b);
            Integer im = vocab.get(a + b);
            if (ia == null || ib == null || im == null) {
                throw fail("has the merge \"" + a + " " + b + "\" whose parts or result are not in the vocabulary");
            }
            merges.putIfAbsent(ia, ib, rank++, im);
        }
        int unkId = -1;
        String unk = modelNode.path("unk_token").isTextual() ? modelNode.path("unk_token").asText() : null;
        if (unk != null && tokenToId.containsKey(unk)) unkId = tokenToId.get(unk);
        BpeModel model = new BpeModel(vocab, merges, byteLevel, modelNode.path("byte_fallback").asBoolean(false),
                modelNode.path("ignore_merges").asBoolean(false), unkId, modelNode.path("fuse_unk").asBoolean(false));

        IntList prefixIds = new IntList();
        IntList suffixIds = new IntList();
        postProcessor(root.path("post_processor"), prefixIds, suffixIds, tokenToId);
        TokenDecoder decoder = decoder(root.path("decoder"));

        String bos = null;
        String eos = null;
        if (configJson != null && Files.isRegularFile(configJson)) {
            JsonNode cfg;
            try {
                cfg = JSON.readTree(configJson.toFile());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new TokenizerException(configJson + " is not valid JSON (" + e.getOriginalMessage() + ")", e);
            }
            bos = tokenText(cfg.path("bos_token"));
            eos = tokenText(cfg.path("eos_token"));
        }
        return new PipelineTokenizer(idToToken, tokenToId, added, normalizer, pre, model, prefixIds.toArray(),
                suffixIds.toArray(), decoder, bos, eos);
    }

    /** bos_token/eos_token are either a string or an AddedToken object {"content": ...}. */
    private static String tokenText(JsonNode n) {
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.path("content").isTextual()) return n.path("content").asText();
        return null;
    }

    private TokenizerException fail(String what) {
        return new TokenizerException(file + " " + what + ".");
    }

    private TokenizerException unsupported(String component, String type, String supported) {
        return new TokenizerException(file + ": " + component + " of type \"" + type + "\" is not supported (supported: "
                + supported + "). Use a model whose tokenizer.json uses the supported components, or its GGUF file.");
    }

    private TextNormalizer normalizer(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) return null;
        String type = n.path("type").asText();
        return switch (type) {
            case "Sequence" -> {
                List<TextNormalizer> steps = new ArrayList<>();
                for (JsonNode c : n.path("normalizers")) {
                    TextNormalizer s = normalizer(c);
                    if (s != null) steps.add(s);
                }
                yield steps.isEmpty() ? null : steps.size() == 1 ? steps.get(0) : new TextNormalizer.Sequence(steps);
            }
            case "NFC" -> new TextNormalizer.UnicodeForm(Normalizer.Form.NFC);
            case "NFD" -> new TextNormalizer.UnicodeForm(Normalizer.Form.NFD);
            case "NFKC" -> new TextNormalizer.UnicodeForm(Normalizer.Form.NFKC);
            case "NFKD" -> new TextNormalizer.UnicodeForm(Normalizer.Form.NFKD);
            case "Lowercase" -> new TextNormalizer.Lowercase();
            case "Prepend" -> new TextNormalizer.Prepend(n.path("prepend").asText());
            case "Strip" -> new TextNormalizer.Strip(n.path("strip_left").asBoolean(true), n.path("strip_right").asBoolean(true));
            case "Replace" -> {
                JsonNode p = n.path("pattern");
                String content = n.path("content").asText();
                if (p.has("String")) yield new TextNormalizer.ReplaceString(p.path("String").asText(), content);
                yield new TextNormalizer.ReplaceRegex(Regexes.compile(p.path("Regex").asText(), file + " normalizer Replace"), content);
            }
            default -> throw unsupported("normalizer", type, "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Strip, Replace");
        };
    }

    private PreTokenizer preTokenizer(JsonNode n, boolean last) {
        if (n.isMissingNode() || n.isNull()) return null;
        String type = n.path("type").asText();
        if (byteLevel) {
            throw fail("has a pre-tokenizer after ByteLevel; ByteLevel must be the last pre-tokenizer");
        }
        return switch (type) {
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                JsonNode list = n.path("pretokenizers");
                for (int i = 0; i < list.size(); i++) {
                    PreTokenizer s = preTokenizer(list.get(i), last && i == list.size() - 1);
                    if (s != null) steps.add(s);
                }
                yield steps.size() == 1 ? steps.get(0) : new PreTokenizer.Sequence(steps);
            }
            case "Split" -> {
                JsonNode p = n.path("pattern");
                Pattern pattern = p.has("String") ? Pattern.compile(Pattern.quote(p.path("String").asText()))
                        : Regexes.compile(p.path("Regex").asText(), file + " pre-tokenizer Split");
                String behavior = n.path("behavior").asText("Isolated");
                PreTokenizer.Behavior b = switch (behavior) {
                    case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
                    case "Removed" -> PreTokenizer.Behavior.REMOVED;
                    case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
                    case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
                    case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
                    default -> throw unsupported("Split behavior", behavior, "Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous");
                };
                boolean invert = n.path("invert").asBoolean(false);
                if (invert && b != PreTokenizer.Behavior.ISOLATED) {
                    throw unsupported("inverted Split behavior", behavior, "Isolated");
                }
                yield new PreTokenizer.RegexSplit(pattern, b, invert);
            }
            case "ByteLevel" -> {
                if (!last) throw fail("has ByteLevel before other pre-tokenizers; it must be the last one");
                byteLevel = true;
                boolean useRegex = n.path("use_regex").asBoolean(true);
                yield new PreTokenizer.ByteLevelSplit(n.path("add_prefix_space").asBoolean(true),
                        useRegex ? Regexes.compile(GPT2_REGEX, "ByteLevel") : null);
            }
            case "Metaspace" -> {
                String scheme = n.has("prepend_scheme") ? n.path("prepend_scheme").asText()
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                if (scheme.equals("first")) {
                    throw unsupported("Metaspace prepend_scheme", scheme, "always, never");
                }
                yield new PreTokenizer.Metaspace(n.path("replacement").asText("\u2581").charAt(0), scheme,
                        n.path("split").asBoolean(true));
            }
            case "Digits" -> new PreTokenizer.Digits(n.path("individual_digits").asBoolean(false));
            default -> throw unsupported("pre-tokenizer", type, "Sequence, Split, ByteLevel, Metaspace, Digits");
        };
    }

    private void postProcessor(JsonNode n, IntList prefix, IntList suffix, Map<String, Integer> tokenToId) {
        if (n.isMissingNode() || n.isNull()) return;
        String type = n.path("type").asText();
        switch (type) {
            case "ByteLevel" -> { } // only trims offsets
            case "Sequence" -> {
                for (JsonNode c : n.path("processors")) postProcessor(c, prefix, suffix, tokenToId);
            }
            case "TemplateProcessing" -> {
                boolean seen = false;
                for (JsonNode item : n.path("single")) {
                    if (item.has("Sequence")) {
                        seen = true;
                    } else if (item.has("SpecialToken")) {
                        String name = item.path("SpecialToken").path("id").asText();
                        JsonNode st = n.path("special_tokens").path(name);
                        if (st.isMissingNode()) throw fail("post_processor uses special token \"" + name + "\" that it does not define");
                        for (JsonNode id : st.path("ids")) (seen ? suffix : prefix).add(id.asInt());
                    }
                }
            }
            case "RobertaProcessing", "BertProcessing" -> {
                prefix.add(n.path("cls").get(1).asInt());
                suffix.add(n.path("sep").get(1).asInt());
            }
            default -> throw unsupported("post_processor", type, "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence");
        }
    }

    private TokenDecoder decoder(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) return null;
        String type = n.path("type").asText();
        return switch (type) {
            case "ByteLevel" -> new TokenDecoder.ByteLevel();
            case "Replace" -> {
                JsonNode p = n.path("pattern");
                if (!p.has("String")) throw unsupported("decoder Replace pattern", "Regex", "String");
                yield new TokenDecoder.Replace(p.path("String").asText(), n.path("content").asText());
            }
            case "ByteFallback" -> new TokenDecoder.ByteFallback();
            case "Fuse" -> new TokenDecoder.Fuse();
            case "Strip" -> new TokenDecoder.Strip(n.path("content").asText(" ").charAt(0), n.path("start").asInt(0), n.path("stop").asInt(0));
            case "Metaspace" -> {
                String scheme = n.has("prepend_scheme") ? n.path("prepend_scheme").asText()
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                yield new TokenDecoder.Metaspace(n.path("replacement").asText("\u2581").charAt(0), !scheme.equals("never"));
            }
            case "Sequence" -> {
                List<TokenDecoder> steps = new ArrayList<>();
                for (JsonNode c : n.path("decoders")) steps.add(decoder(c));
                yield new TokenDecoder.Sequence(steps);
            }
            default -> throw unsupported("decoder", type, "ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence");
        };
    }
}
