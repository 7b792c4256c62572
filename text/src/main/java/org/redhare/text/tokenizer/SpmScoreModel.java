package org.redhare.text.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece BPE as llama.cpp runs it on GGUF "llama" vocabularies: start from the characters, repeatedly
 * join the adjacent pair whose concatenation is a vocabulary entry with the highest score (leftmost on ties),
 * then spell every symbol that is no entry as "&lt;0xXX&gt;" byte tokens.
 */
public final class SpmScoreModel implements TokenModel {
    private final Map<String, Integer> vocab;
    private final float[] scores; // [n_vocab]
    private final int[] byteIds = new int[256];
    private final int unkId;

    public SpmScoreModel(Map<String, Integer> vocab, float[] scores, int unkId) {
        this.vocab = vocab;
        this.scores = scores;
        this.unkId = unkId;
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.format("<0x%02X>", b));
            if (id == null) id = vocab.get(String.valueOf((char) b));
            byteIds[b] = id == null ? -1 : id;
        }
    }

    private record Bigram(int left, int right, float score, int size) {}

    private static final int CACHE_MAX_ENTRIES = 200_000;
    private static final int CACHE_MAX_PIECE = 64;
    private final java.util.concurrent.ConcurrentHashMap<String, int[]> cache = new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public void encode(String text, IntList out) {
        if (text.length() > CACHE_MAX_PIECE) {
            encodeUncached(text, out);
            return;
        }
        int[] hit = cache.get(text);
        if (hit == null) {
            IntList ids = new IntList();
            encodeUncached(text, ids);
            hit = ids.toArray();
            if (cache.size() >= CACHE_MAX_ENTRIES) cache.clear();
            cache.put(text, hit);
        }
        out.addAll(hit);
    }

    private void encodeUncached(String text, IntList out) {
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, k = 0; i < text.length(); k++) {
            int cl = Character.charCount(text.codePointAt(i));
            start[k] = i;
            len[k] = cl;
            prev[k] = k - 1;
            next[k] = k + 1 < n ? k + 1 : -1;
            i += cl;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> {
            int c = Float.compare(b.score, a.score);
            return c != 0 ? c : Integer.compare(a.left, b.left);
        });
        for (int i = 1; i < n; i++) tryAdd(text, start, len, i - 1, i, queue);
        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            int l = bg.left;
            int r = bg.right;
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != bg.size) continue;
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            tryAdd(text, start, len, prev[l], l, queue);
            tryAdd(text, start, len, l, next[l], queue);
        }
        for (int i = n == 0 ? -1 : 0; i >= 0; i = next[i]) {
            String sym = text.substring(start[i], start[i] + len[i]);
            Integer id = vocab.get(sym);
            if (id != null) {
                out.add(id);
                continue;
            }
            for (byte b : sym.getBytes(StandardCharsets.UTF_8)) {
                int bid = byteIds[b & 0xFF];
                out.add(bid >= 0 ? bid : unkId);
            }
        }
    }

    private void tryAdd(String text, int[] start, int[] len, int l, int r, PriorityQueue<Bigram> queue) {
        if (l < 0 || r < 0) return;
        int size = len[l] + len[r];
        Integer id = vocab.get(text.substring(start[l], start[l] + size));
        if (id == null || id >= scores.length) return;
        queue.add(new Bigram(l, r, scores[id], size));
    }
}
