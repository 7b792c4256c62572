package org.redhare.text.tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.redhare.model.gguf.GgufFile;
import org.redhare.text.TokenizerException;

/**
 * Builds a tokenizer from GGUF metadata ({@code tokenizer.ggml.*}), following llama.cpp:
 * <ul>
 *   <li>"llama": SentencePiece vocabulary with scores, merged by score ({@link SpmScoreModel}), spaces as "▁",
 *       a "▁" prefix per text fragment (add_space_prefix), "&lt;0xXX&gt;" byte tokens;</li>
 *   <li>"gpt2": byte-level BPE with tokenizer.ggml.merges; tokenizer.ggml.pre names the pre-tokenizer regexes.</li>
 * </ul>
 * Control and unknown tokens are special (matched in text only with parseSpecial); user-defined tokens are
 * always matched.
 */
public final class GgufTokenizerLoader {
    // llama.cpp token types (tokenizer.ggml.token_type)
    private static final int TYPE_UNKNOWN = 2;
    private static final int TYPE_CONTROL = 3;
    private static final int TYPE_USER_DEFINED = 4;

    private static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    private static final String LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    // Letters as llama.cpp lists them; \\x{..} escapes keep the canonical singletons (U+1F7D, U+212A...) from
    // being normalized away by editors.
    private static final String DEEPSEEK_LLM_LETTERS = "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼ\\x{1FBE}ῂ-ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+";

    /** tokenizer.ggml.pre values we support → llama.cpp's regex list for them (applied in turn, matches isolated). */
    static final Map<String, List<String>> PRE = new HashMap<>();
    static {
        List<String> gpt2 = List.of(GPT2);
        for (String k : List.of("gpt-2", "phi-2", "mpt", "olmo", "roberta-bpe", "jina-es", "jina-de", "jais")) PRE.put(k, gpt2);
        // GLM-4's ("glm4", "chatglm-bpe") is Llama 3's expression too
        for (String k : List.of("llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "glm4", "chatglm-bpe")) PRE.put(k, List.of(LLAMA3));
        for (String k : List.of("qwen2", "deepseek-r1-qwen", "stablelm2", "megrez")) PRE.put(k, List.of(QWEN2));
        PRE.put("default", List.of("[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"));
        PRE.put("deepseek-llm", List.of("[\r\n]", DEEPSEEK_LLM_LETTERS, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$",
                "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"));
        PRE.put("deepseek-coder", List.of("[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"));
        PRE.put("deepseek-v3", List.of("\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"));
        PRE.put("falcon", List.of("[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"));
        for (String k : List.of("starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b")) {
            PRE.put(k, List.of("\\p{N}", GPT2));
        }
    }

    private GgufTokenizerLoader() {}

    public static PipelineTokenizer load(Path gguf) throws IOException {
        try (GgufFile f = GgufFile.open(gguf)) {
            return build(gguf, f.metadata());
        }
    }

    static PipelineTokenizer build(Path file, Map<String, Object> md) {
        String kind = md.get("tokenizer.ggml.model") instanceof String s ? s : null;
        if (kind == null || kind.equals("none") || kind.equals("no_vocab")) {
            throw new TokenizerException(file + " has no vocabulary (tokenizer.ggml.model " + (kind == null ? "missing" : "\"" + kind + "\"") + "). "
                    + "Point --model at a GGUF with a vocabulary or at the Hugging Face folder with tokenizer.json.");
        }
        if (!(md.get("tokenizer.ggml.tokens") instanceof List<?> rawTokens)) {
            throw new TokenizerException(file + " has no tokenizer.ggml.tokens array; the GGUF vocabulary is incomplete.");
        }
        int n = rawTokens.size();
        String[] tokens = new String[n];
        Map<String, Integer> tokenToId = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            tokens[i] = (String) rawTokens.get(i);
            tokenToId.putIfAbsent(tokens[i], i);
        }
        int[] types = intArray(md.get("tokenizer.ggml.token_type"), n);
        List<AddedToken> added = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int t = types == null ? 1 : types[i];
            if (t == TYPE_CONTROL || t == TYPE_UNKNOWN || t == TYPE_USER_DEFINED) {
                added.add(new AddedToken(i, tokens[i], t != TYPE_USER_DEFINED, false, false, false, false));
            }
        }
        int bosId = (int) longOr(md, "tokenizer.ggml.bos_token_id", -1);
        int eosId = (int) longOr(md, "tokenizer.ggml.eos_token_id", -1);
        int unkId = (int) longOr(md, "tokenizer.ggml.unknown_token_id", -1);
        String bos = bosId >= 0 && bosId < n ? tokens[bosId] : null;
        String eos = eosId >= 0 && eosId < n ? tokens[eosId] : null;

        switch (kind) {
            case "llama" -> {
                float[] scores = md.get("tokenizer.ggml.scores") instanceof float[] fs ? fs : new float[n];
                boolean spacePrefix = boolOr(md, "tokenizer.ggml.add_space_prefix", true);
                boolean addBos = boolOr(md, "tokenizer.ggml.add_bos_token", true);
                boolean addEos = boolOr(md, "tokenizer.ggml.add_eos_token", false);
                TextNormalizer replace = new TextNormalizer.ReplaceString(" ", "\u2581");
                TextNormalizer normalizer = spacePrefix
                        ? new TextNormalizer.Sequence(List.of(new TextNormalizer.Prepend(" "), replace)) : replace;
                List<TokenDecoder> dec = new ArrayList<>(List.of(new TokenDecoder.Replace("\u2581", " "),
                        new TokenDecoder.ByteFallback(), new TokenDecoder.Fuse()));
                if (spacePrefix) dec.add(new TokenDecoder.Strip(' ', 1, 0));
                // Words (split before runs of "▁") can be cached when no merge can cross them; see BeforeMetaspaceRun.
                PreTokenizer words = PreTokenizer.BeforeMetaspaceRun.safeFor(tokenToId.keySet(), '\u2581')
                        ? new PreTokenizer.BeforeMetaspaceRun('\u2581') : null;
                return new PipelineTokenizer(tokens, tokenToId, Map.of(), added, normalizer, words,
                        new SpmScoreModel(tokenToId, scores, unkId >= 0 ? unkId : 0),
                        addBos && bosId >= 0 ? new int[] {bosId} : new int[0],
                        addEos && eosId >= 0 ? new int[] {eosId} : new int[0],
                        new TokenDecoder.Sequence(dec), bos, eos);
            }
            case "gpt2" -> {
                String pre = md.get("tokenizer.ggml.pre") instanceof String s ? s : "default";
                List<String> regexes = PRE.get(pre);
                if (regexes == null) {
                    throw new TokenizerException(file + ": tokenizer.ggml.pre \"" + pre + "\" is not supported (supported: "
                            + new java.util.TreeSet<>(PRE.keySet()) + "). Other pre-tokenizers are rejected rather than "
                            + "guessed, since a wrong regex silently changes the token ids; use the model's tokenizer.json.");
                }
                List<PreTokenizer> steps = new ArrayList<>();
                for (String r : regexes) {
                    // llama.cpp's spelling of the Llama 3 / Qwen2 patterns ('[sS]: ASCII case only) has a fast scanner.
                    if (r.equals(LLAMA3) || r.equals(QWEN2)) {
                        steps.add(new WordSplitter(r.equals(LLAMA3) ? 3 : 1, false));
                        continue;
                    }
                    if (r.equals(GPT2)) {
                        steps.add(WordSplitter.gpt2());
                        continue;
                    }
                    steps.add(new PreTokenizer.RegexSplit(Regexes.compile(r, file + " pre-tokenizer " + pre),
                            PreTokenizer.Behavior.ISOLATED, false));
                }
                if (!(md.get("tokenizer.ggml.merges") instanceof List<?> mergeList)) {
                    throw new TokenizerException(file + " is a gpt2 (BPE) vocabulary without tokenizer.ggml.merges.");
                }
                MergeTable merges = new MergeTable(mergeList.size());
                int rank = 0;
                for (Object o : mergeList) {
                    String m = (String) o;
                    int sp = m.indexOf(' ', 1);
                    if (sp < 0) continue;
                    Integer a = tokenToId.get(m.substring(0, sp));
                    Integer b = tokenToId.get(m.substring(sp + 1));
                    Integer c = tokenToId.get(m.substring(0, sp) + m.substring(sp + 1));
                    if (a == null || b == null || c == null) continue; // llama.cpp ignores such merges too
                    merges.putIfAbsent(a, b, rank++, c);
                }
                boolean llama3 = PRE.get(pre).equals(PRE.get("llama3")); // every Llama 3 name: merges ignored for whole-vocabulary words
                boolean addBos = boolOr(md, "tokenizer.ggml.add_bos_token", llama3);
                boolean addEos = boolOr(md, "tokenizer.ggml.add_eos_token", false);
                BpeModel model = new BpeModel(tokenToId, merges, true, false, llama3, -1, false);
                return new PipelineTokenizer(tokens, tokenToId, Map.of(), added, null,
                        steps.size() == 1 ? steps.get(0) : new PreTokenizer.Sequence(steps), model,
                        addBos && bosId >= 0 ? new int[] {bosId} : new int[0],
                        addEos && eosId >= 0 ? new int[] {eosId} : new int[0],
                        new TokenDecoder.ByteLevel(), bos, eos);
            }
            default -> throw new TokenizerException(file + ": tokenizer.ggml.model \"" + kind + "\" is not supported "
                    + "(supported: llama (SentencePiece), gpt2 (byte-level BPE); bert/WordPiece, t5/Unigram and rwkv are not).");
        }
    }

    private static int[] intArray(Object o, int n) {
        if (o instanceof int[] a) return a;
        if (o instanceof long[] a) {
            int[] r = new int[a.length];
            for (int i = 0; i < a.length; i++) r[i] = (int) a[i];
            return r;
        }
        if (o instanceof short[] a) {
            int[] r = new int[a.length];
            for (int i = 0; i < a.length; i++) r[i] = a[i];
            return r;
        }
        if (o instanceof byte[] a) {
            int[] r = new int[a.length];
            for (int i = 0; i < a.length; i++) r[i] = a[i];
            return r;
        }
        return null;
    }

    private static long longOr(Map<String, Object> md, String key, long def) {
        return md.get(key) instanceof Number num && !(num instanceof Float || num instanceof Double) ? num.longValue() : def;
    }

    private static boolean boolOr(Map<String, Object> md, String key, boolean def) {
        return md.get(key) instanceof Boolean b ? b : def;
    }
}
