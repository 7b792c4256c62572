package org.redhare.text.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.redhare.text.TokenizerException;

/**
 * Reads a SentencePiece {@code tokenizer.model} (the ModelProto protobuf) of a BPE model such as Llama 2's, and builds
 * the same tokenizer as a GGUF "llama" vocabulary (llama.cpp converts exactly these fields). Only the fields we use
 * are decoded: pieces (piece, score, type), trainer_spec (model_type, unk/bos/eos ids) and normalizer_spec
 * (name, add_dummy_prefix, remove_extra_whitespaces).
 */
public final class SentencePieceModelLoader {
    private SentencePieceModelLoader() {}

    public static PipelineTokenizer load(Path model, Path tokenizerConfigJson) throws IOException {
        byte[] data = Files.readAllBytes(model);
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        int modelType = 1; // UNIGRAM is the protobuf default
        int unkId = 0;
        int bosId = 1;
        int eosId = 2;
        String normalizerName = "";
        boolean addDummyPrefix = true;
        boolean removeExtraWhitespaces = true;
        try {
            Reader r = new Reader(data, 0, data.length);
            while (r.more()) {
                int key = r.varint32();
                int field = key >>> 3;
                if (field == 1 && (key & 7) == 2) {
                    Reader p = r.sub();
                    String piece = "";
                    float score = 0f;
                    int type = 1;
                    while (p.more()) {
                        int k = p.varint32();
                        switch (k >>> 3) {
                            case 1 -> piece = p.string(k);
                            case 2 -> score = p.fixedFloat(k);
                            case 3 -> type = (int) p.varint(k);
                            default -> p.skip(k);
                        }
                    }
                    pieces.add(piece);
                    scores.add(score);
                    types.add(type);
                } else if (field == 2 && (key & 7) == 2) {
                    Reader t = r.sub();
                    while (t.more()) {
                        int k = t.varint32();
                        switch (k >>> 3) {
                            case 3 -> modelType = (int) t.varint(k);
                            case 40 -> unkId = (int) t.varint(k);
                            case 41 -> bosId = (int) t.varint(k);
                            case 42 -> eosId = (int) t.varint(k);
                            default -> t.skip(k);
                        }
                    }
                } else if (field == 3 && (key & 7) == 2) {
                    Reader n = r.sub();
                    while (n.more()) {
                        int k = n.varint32();
                        switch (k >>> 3) {
                            case 1 -> normalizerName = n.string(k);
                            case 3 -> addDummyPrefix = n.varint(k) != 0;
                            case 4 -> removeExtraWhitespaces = n.varint(k) != 0;
                            default -> n.skip(k);
                        }
                    }
                } else {
                    r.skip(key);
                }
            }
        } catch (IndexOutOfBoundsException | IllegalStateException e) {
            throw new TokenizerException(model + " is not a valid SentencePiece model (truncated or corrupt protobuf: "
                    + e.getMessage() + ")", e);
        }
        if (pieces.isEmpty()) {
            throw new TokenizerException(model + " has no pieces; expected a SentencePiece tokenizer.model.");
        }
        if (modelType != 2) {
            throw new TokenizerException(model + " is a SentencePiece " + switch (modelType) {
                case 1 -> "Unigram";
                case 3 -> "word";
                case 4 -> "char";
                default -> "type " + modelType;
            } + " model; only BPE SentencePiece models (Llama 2, Mistral) are supported. Use the model's tokenizer.json.");
        }
        if (removeExtraWhitespaces || !(normalizerName.isEmpty() || normalizerName.equals("identity"))) {
            throw new TokenizerException(model + " normalizes text (normalizer \"" + normalizerName + "\", remove_extra_whitespaces="
                    + removeExtraWhitespaces + "), which is not supported; use the model's tokenizer.json.");
        }
        Map<String, Object> md = new HashMap<>();
        md.put("tokenizer.ggml.model", "llama");
        md.put("tokenizer.ggml.tokens", List.copyOf(pieces));
        float[] s = new float[scores.size()];
        int[] t = new int[types.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
            t[i] = types.get(i);
        }
        md.put("tokenizer.ggml.scores", s);
        md.put("tokenizer.ggml.token_type", t);
        md.put("tokenizer.ggml.unknown_token_id", (long) unkId);
        md.put("tokenizer.ggml.bos_token_id", (long) bosId);
        md.put("tokenizer.ggml.eos_token_id", (long) eosId);
        md.put("tokenizer.ggml.add_space_prefix", addDummyPrefix);
        if (tokenizerConfigJson != null && Files.isRegularFile(tokenizerConfigJson)) {
            var cfg = new com.fasterxml.jackson.databind.ObjectMapper().readTree(tokenizerConfigJson.toFile());
            if (cfg.path("add_bos_token").isBoolean()) md.put("tokenizer.ggml.add_bos_token", cfg.path("add_bos_token").asBoolean());
            if (cfg.path("add_eos_token").isBoolean()) md.put("tokenizer.ggml.add_eos_token", cfg.path("add_eos_token").asBoolean());
        }
        return GgufTokenizerLoader.build(model, md);
    }

    /** A minimal protobuf wire-format reader over data[pos, end). */
    private static final class Reader {
        private final byte[] data;
        private int pos;
        private final int end;

        Reader(byte[] data, int pos, int end) {
            this.data = data;
            this.pos = pos;
            this.end = end;
        }

        boolean more() {
            return pos < end;
        }

        long varint(int key) {
            if ((key & 7) != 0) throw new IllegalStateException("field " + (key >>> 3) + " is not a varint");
            return rawVarint();
        }

        int varint32() {
            return (int) rawVarint();
        }

        private long rawVarint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) throw new IllegalStateException("varint past the end");
                byte b = data[pos++];
                v |= (long) (b & 0x7F) << shift;
                if (b >= 0) return v;
            }
            throw new IllegalStateException("varint longer than 10 bytes");
        }

        Reader sub() {
            int len = (int) rawVarint();
            if (len < 0 || pos + len > end) throw new IllegalStateException("length " + len + " past the end");
            Reader r = new Reader(data, pos, pos + len);
            pos += len;
            return r;
        }

        String string(int key) {
            if ((key & 7) != 2) throw new IllegalStateException("field " + (key >>> 3) + " is not a string");
            Reader r = sub();
            return new String(data, r.pos, r.end - r.pos, StandardCharsets.UTF_8);
        }

        float fixedFloat(int key) {
            if ((key & 7) != 5) throw new IllegalStateException("field " + (key >>> 3) + " is not a float");
            if (pos + 4 > end) throw new IllegalStateException("float past the end");
            int bits = (data[pos] & 0xFF) | (data[pos + 1] & 0xFF) << 8 | (data[pos + 2] & 0xFF) << 16 | (data[pos + 3] & 0xFF) << 24;
            pos += 4;
            return Float.intBitsToFloat(bits);
        }

        void skip(int key) {
            switch (key & 7) {
                case 0 -> rawVarint();
                case 1 -> pos += 8;
                case 2 -> sub();
                case 5 -> pos += 4;
                default -> throw new IllegalStateException("unsupported wire type " + (key & 7));
            }
            if (pos > end) throw new IllegalStateException("field past the end");
        }
    }
}
