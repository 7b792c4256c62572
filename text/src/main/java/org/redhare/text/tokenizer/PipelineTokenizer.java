package org.redhare.text.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.redhare.text.Detokenizer;
import org.redhare.text.Tokenizer;

/**
 * The Hugging Face pipeline: added tokens → normalizer → pre-tokenizer → model → post-processor, and
 * decoder for the way back. Both the tokenizer.json and the GGUF loaders build one of these.
 */
public final class PipelineTokenizer implements Tokenizer {
    private final String[] idToToken;          // [vocabSize]; null for ids nobody defines
    private final Map<String, Integer> vocab;       // the model's entries
    private final Map<String, Integer> addedIds;    // added tokens (may override or extend the model's)
    private final boolean[] special;           // [vocabSize]
    private final AddedTokenMatcher rawAdded;  // matched on the text as given
    private final AddedTokenMatcher normalizedAdded; // matched on normalized text
    private final TextNormalizer normalizer;   // null: none
    private final PreTokenizer preTokenizer;   // null: the whole segment is one piece
    private final TokenModel model;
    private final int[] prefixIds;             // post-processor, single sequence
    private final int[] suffixIds;
    private final TokenDecoder decoder;        // null: tokens joined by spaces (HF's behaviour without decoder)
    private final String bos;
    private final String eos;

    public PipelineTokenizer(String[] idToToken, Map<String, Integer> vocab, Map<String, Integer> addedIds, List<AddedToken> added,
                             TextNormalizer normalizer, PreTokenizer preTokenizer, TokenModel model,
                             int[] prefixIds, int[] suffixIds, TokenDecoder decoder, String bos, String eos) {
        this.idToToken = idToToken;
        this.vocab = vocab;
        this.addedIds = addedIds;
        this.special = new boolean[idToToken.length];
        List<AddedToken> raw = new ArrayList<>();
        List<AddedToken> norm = new ArrayList<>();
        for (AddedToken t : added) {
            if (t.special()) special[t.id()] = true;
            (t.normalized() && normalizer != null ? norm : raw).add(t);
        }
        this.rawAdded = new AddedTokenMatcher(raw);
        this.normalizedAdded = norm.isEmpty() ? null : new AddedTokenMatcher(norm);
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.prefixIds = prefixIds;
        this.suffixIds = suffixIds;
        this.decoder = decoder;
        this.bos = bos;
        this.eos = eos;
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens, boolean parseSpecial) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (addSpecialTokens) {
            out.addAll(prefixIds);
        }
        List<AddedTokenMatcher.Segment> segments = new ArrayList<>();
        rawAdded.split(text, parseSpecial, segments);
        List<AddedTokenMatcher.Segment> inner = new ArrayList<>();
        for (int k = 0; k < segments.size(); k++) {
            AddedTokenMatcher.Segment seg = segments.get(k);
            if (seg.id() >= 0) {
                out.add(seg.id());
                continue;
            }
            String normalized = normalizer == null ? seg.text() : normalizer.normalize(seg.text());
            if (normalizedAdded == null) {
                encodeText(normalized, k == 0, out);
            } else {
                inner.clear();
                normalizedAdded.split(normalized, parseSpecial, inner);
                for (int j = 0; j < inner.size(); j++) {
                    AddedTokenMatcher.Segment s = inner.get(j);
                    if (s.id() >= 0) out.add(s.id());
                    else encodeText(s.text(), k == 0 && j == 0, out);
                }
            }
        }
        if (addSpecialTokens) {
            out.addAll(suffixIds);
        }
        return out.toArray();
    }

    private void encodeText(String normalized, boolean atInputStart, IntList out) {
        if (normalized.isEmpty()) return;
        if (preTokenizer == null) {
            model.encode(normalized, out);
            return;
        }
        preTokenizer.split(normalized, atInputStart, p -> {
            if (!p.isEmpty()) model.encode(p, out);
        });
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
                continue; // HF skips ids it does not know
            }
            if (skipSpecialTokens && special[id]) continue;
            tokens.add(idToToken[id]);
        }
        if (decoder == null) return String.join(" ", tokens);
        return String.join("", decoder.decode(tokens));
    }

    @Override
    public Detokenizer detokenizer(boolean skipSpecialTokens) {
        return new StreamingDetokenizer(this, skipSpecialTokens);
    }

    @Override
    public int vocabSize() {
        return idToToken.length;
    }

    @Override
    public String tokenString(int id) {
        if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in this vocabulary (size " + idToToken.length + ")");
        }
        return idToToken[id];
    }

    @Override
    public OptionalInt tokenId(String tokenString) {
        Integer id = addedIds.get(tokenString);
        if (id == null) id = vocab.get(tokenString);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    @Override
    public String bosToken() {
        return bos;
    }

    @Override
    public String eosToken() {
        return eos;
    }

    /** The post-processor's ids before and after the sequence (for callers that add BOS themselves). */
    public int[] prefixIds() {
        return Arrays.copyOf(prefixIds, prefixIds.length);
    }
}
