package org.redhare.text.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.redhare.text.TokenizerException;

/** Builds a {@link PipelineTokenizer} from a Hugging Face tokenizer.json (and tokenizer_config.json beside it). */
public final class HfTokenizerLoader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private boolean byteLevel;

    private HfTokenizerLoader(Path file) {
        this.file = file;
    }

    public static PipelineTokenizer load(Path tokenizerJson, Path tokenizerConfigJson) throws IOException {
        return new HfTokenizerLoader(tokenizerJson).build(tokenizerConfigJson);
    }

    /** The "model" section read by streaming: the vocabulary and merges are most of the file. */
    private static final class ModelSection {
        final ObjectNode fields = JSON.createObjectNode(); // everything but vocab and merges
        final Map<String, Integer> vocab = new HashMap<>(1 << 18);
        final List<String[]> merges = new ArrayList<>(1 << 18);
    }

    private PipelineTokenizer build(Path configJson) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ModelSection modelSection = null;
        try (JsonParser p = JSON.getFactory().createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw fail("is not a JSON object; expected a Hugging Face tokenizer.json");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals("model") && p.currentToken() == JsonToken.START_OBJECT) {
                    modelSection = readModel(p);
                } else {
                    root.set(name, p.readValueAsTree());
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new TokenizerException(file + " is not valid JSON (" + e.getOriginalMessage()
                    + "); expected a Hugging Face tokenizer.json", e);
        }
        if (modelSection == null) {
            throw fail("has no \"model\" section; expected a Hugging Face tokenizer.json");
        }
        JsonNode modelNode = modelSection.fields;
        Map<String, Integer> vocab = modelSection.vocab;
        String modelType = modelNode.path("type").asText(modelSection.merges.isEmpty() ? "" : "BPE");
        if (!modelType.equals("BPE")) {
            throw fail("uses model type \"" + modelType + "\"; only BPE models (byte-level and SentencePiece-style) are supported");
        }

        TextNormalizer normalizer = normalizer(root.path("normalizer"));
        PreTokenizer pre = preTokenizer(root.path("pre_tokenizer"), true);

        int maxId = -1;
        for (int id : vocab.values()) maxId = Math.max(maxId, id);
        List<AddedToken> added = new ArrayList<>();
        for (JsonNode a : root.path("added_tokens")) {
            AddedToken t = new AddedToken(a.path("id").asInt(), a.path("content").asText(), a.path("special").asBoolean(false),
                    a.path("normalized").asBoolean(!a.path("special").asBoolean(false)), a.path("lstrip").asBoolean(false),
                    a.path("rstrip").asBoolean(false), a.path("single_word").asBoolean(false));
            added.add(t);
            maxId = Math.max(maxId, t.id());
        }
        String[] idToToken = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) idToToken[e.getValue()] = e.getKey();
        // Added tokens are looked up apart from the model vocabulary, so that the model never produces them.
        Map<String, Integer> addedIds = new HashMap<>();
        for (AddedToken t : added) {
            idToToken[t.id()] = t.content();
            addedIds.put(t.content(), t.id());
        }
        java.util.function.Function<String, Integer> tokenToId = k -> {
            Integer id = addedIds.get(k);
            return id != null ? id : vocab.get(k);
        };

        String prefix = modelNode.path("continuing_subword_prefix").asText("");
        String suffix = modelNode.path("end_of_word_suffix").asText("");
        if (!prefix.isEmpty() || !suffix.isEmpty()) {
            throw fail("BPE with continuing_subword_prefix/end_of_word_suffix (\"" + prefix + "\"/\"" + suffix
                    + "\") is not supported; it is used by WordPiece-like BPE models, not by byte-level or SentencePiece ones");
        }
        if (!byteLevel && (pre == null || pre instanceof PreTokenizer.Metaspace ms && !ms.splitWords())
                && PreTokenizer.BeforeMetaspaceRun.safeFor(vocab.keySet(), '\u2581')) {
            // SentencePiece-style text is otherwise one BPE "word" per segment: no cache, 1M symbols per MB.
            PreTokenizer words = new PreTokenizer.BeforeMetaspaceRun('\u2581');
            pre = pre == null ? words : new PreTokenizer.Sequence(List.of(pre, words));
        }
        MergeTable merges = new MergeTable(modelSection.merges.size());
        int rank = 0;
        for (String[] m : modelSection.merges) {
            Integer ia = vocab.get(m[0]);
            Integer ib = vocab.get(m[1]);
            Integer im = vocab.get(m[0] + m[1]);
            if (ia == null || ib == null || im == null) {
                throw fail("has the merge \"" + m[0] + " " + m[1] + "\" whose parts or result are not in the vocabulary");
            }
            merges.putIfAbsent(ia, ib, rank++, im);
        }
        int unkId = -1;
        String unk = modelNode.path("unk_token").isTextual() ? modelNode.path("unk_token").asText() : null;
        if (unk != null && tokenToId.apply(unk) != null) unkId = tokenToId.apply(unk);
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
        return new PipelineTokenizer(idToToken, vocab, addedIds, added, normalizer, pre, model, prefixIds.toArray(),
                suffixIds.toArray(), decoder, bos, eos);
    }

    private ModelSection readModel(JsonParser p) throws IOException {
        ModelSection m = new ModelSection();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            if (name.equals("vocab") && t == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String token = p.currentName();
                    p.nextToken();
                    m.vocab.put(token, p.getIntValue());
                }
            } else if (name.equals("merges") && t == JsonToken.START_ARRAY) {
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (t == JsonToken.VALUE_STRING) {
                        String s = p.getText();
                        int sp = s.indexOf(' ', 1);
                        if (sp < 0) throw fail("has a malformed merge \"" + s + "\" (expected \"left right\")");
                        m.merges.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
                    } else if (t == JsonToken.START_ARRAY) {
                        p.nextToken();
                        String a = p.getText();
                        p.nextToken();
                        String b = p.getText();
                        if (p.nextToken() != JsonToken.END_ARRAY) throw fail("has a merge with more than two parts");
                        m.merges.add(new String[] {a, b});
                    } else {
                        throw fail("has a malformed merges entry (expected \"left right\" or [left, right])");
                    }
                }
            } else {
                m.fields.set(name, p.readValueAsTree());
            }
        }
        return m;
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
                yield steps.isEmpty() ? null : steps.size() == 1 ? steps.get(0) : new PreTokenizer.Sequence(steps);
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
                WordSplitter fast = p.has("Regex") && b == PreTokenizer.Behavior.ISOLATED && !invert
                        ? WordSplitter.forRegex(p.path("Regex").asText()) : null;
                yield fast != null ? fast : new PreTokenizer.RegexSplit(pattern, b, invert);
            }
            case "ByteLevel" -> {
                if (!last) throw fail("has ByteLevel before other pre-tokenizers; it must be the last one");
                byteLevel = true;
                boolean useRegex = n.path("use_regex").asBoolean(true);
                boolean prefixSpace = n.path("add_prefix_space").asBoolean(true);
                if (!useRegex && !prefixSpace) yield null; // only the byte mapping, which the BPE model does
                yield new PreTokenizer.ByteLevelSplit(n.path("add_prefix_space").asBoolean(true),
                        useRegex ? WordSplitter.gpt2() : null);
            }
            case "Metaspace" -> {
                String scheme = n.has("prepend_scheme") ? n.path("prepend_scheme").asText()
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                if (!scheme.equals("first") && !scheme.equals("always") && !scheme.equals("never")) {
                    throw unsupported("Metaspace prepend_scheme", scheme, "first, always, never");
                }
                yield new PreTokenizer.Metaspace(n.path("replacement").asText("\u2581").charAt(0), scheme,
                        n.path("split").asBoolean(true));
            }
            case "Digits" -> new PreTokenizer.Digits(n.path("individual_digits").asBoolean(false));
            default -> throw unsupported("pre-tokenizer", type, "Sequence, Split, ByteLevel, Metaspace, Digits");
        };
    }

    private void postProcessor(JsonNode n, IntList prefix, IntList suffix,
                               java.util.function.Function<String, Integer> tokenToId) {
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
