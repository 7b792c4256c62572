package org.redhare.text.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-pair encoding with merge ranks (Hugging Face "BPE"). Two alphabets:
 * <ul>
 *   <li>byte-level (GPT-2 style, when the pre-tokenizer has ByteLevel): the initial symbols are the UTF-8 bytes
 *       of the piece, each spelled by {@link ByteLevelAlphabet};</li>
 *   <li>characters (SentencePiece style): the initial symbols are the code points, with byte fallback to
 *       "&lt;0xXX&gt;" tokens or the unknown token for characters outside the vocabulary.</li>
 * </ul>
 * Merging always applies the lowest-rank adjacent pair, leftmost first on ties, through a binary heap, so a
 * long piece (a SentencePiece text without pre-tokenizer, a run of 10k letters) costs O(n log n).
 * Results for short pieces are cached: English text repeats its words.
 */
public final class BpeModel implements TokenModel {
    private static final int CACHE_MAX_ENTRIES = 200_000;
    private static final int CACHE_MAX_PIECE = 64;

    private final Map<String, Integer> vocab;
    private final MergeTable merges;
    private final boolean byteLevel;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final int unkId; // -1: characters outside the vocabulary are dropped (as HF does without unk_token)
    private final boolean fuseUnk;
    private final int[] byteIds = new int[256]; // byte-level: id of each byte's char; fallback: id of "<0xXX>" or -1
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    public BpeModel(Map<String, Integer> vocab, MergeTable merges, boolean byteLevel, boolean byteFallback,
                    boolean ignoreMerges, int unkId, boolean fuseUnk) {
        this.vocab = vocab;
        this.merges = merges;
        this.byteLevel = byteLevel;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        for (int b = 0; b < 256; b++) {
            String s = byteLevel ? String.valueOf(ByteLevelAlphabet.charOf(b)) : String.format("<0x%02X>", b);
            Integer id = vocab.get(s);
            byteIds[b] = id == null ? -1 : id;
        }
    }

    @Override
    public void encode(String piece, IntList out) {
        boolean cacheable = piece.length() <= CACHE_MAX_PIECE;
        if (cacheable) {
            int[] hit = cache.get(piece);
            if (hit != null) {
                out.addAll(hit);
                return;
            }
        }
        int[] ids = encodeUncached(piece);
        if (cacheable) {
            if (cache.size() >= CACHE_MAX_ENTRIES) {
                cache.clear(); // crude bound: a working set of common words refills quickly
            }
            cache.put(piece, ids);
        }
        out.addAll(ids);
    }

    private int[] encodeUncached(String piece) {
        if (ignoreMerges) {
            Integer whole = vocab.get(byteLevel ? ByteLevelAlphabet.encode(piece) : piece);
            if (whole != null) return new int[] {whole};
        }
        IntList symbols = new IntList(piece.length() + 4);
        if (byteLevel) {
            byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
            for (byte b : bytes) {
                int id = byteIds[b & 0xFF];
                if (id >= 0) {
                    symbols.add(id);
                } else {
                    addUnk(symbols);
                }
            }
        } else {
            boolean lastWasUnk = false;
            for (int i = 0; i < piece.length(); ) {
                int cp = piece.codePointAt(i);
                int len = Character.charCount(cp);
                Integer id = vocab.get(piece.substring(i, i + len));
                i += len;
                if (id != null) {
                    symbols.add(id);
                    lastWasUnk = false;
                    continue;
                }
                if (byteFallback) {
                    byte[] bytes = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                    boolean all = true;
                    for (byte b : bytes) all &= byteIds[b & 0xFF] >= 0;
                    if (all) {
                        for (byte b : bytes) symbols.add(byteIds[b & 0xFF]);
                        lastWasUnk = false;
                        continue;
                    }
                }
                if (unkId >= 0) {
                    if (!(fuseUnk && lastWasUnk)) symbols.add(unkId);
                    lastWasUnk = true;
                }
            }
        }
        return merge(symbols);
    }

    private void addUnk(IntList symbols) {
        if (unkId >= 0) symbols.add(unkId);
    }

    private int[] merge(IntList symbols) {
        int n = symbols.size();
        if (n < 2) return symbols.toArray();
        int[] id = symbols.toArray();
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        // Heap entries: rank << 32 | left position. Smallest first = lowest rank, then leftmost.
        long[] heap = new long[n];
        int size = 0;
        for (int i = 0; i + 1 < n; i++) {
            long m = merges.get(id[i], id[i + 1]);
            if (m >= 0) {
                heap[size] = (m & 0xFFFFFFFF00000000L) | i;
                size = siftUp(heap, size);
            }
        }
        boolean[] dead = new boolean[n];
        int alive = n;
        while (size > 0) {
            long top = heap[0];
            heap[0] = heap[--size];
            siftDown(heap, size);
            int left = (int) top;
            int rank = (int) (top >>> 32);
            if (dead[left]) continue;
            int right = next[left];
            if (right < 0) continue;
            long m = merges.get(id[left], id[right]);
            if (m < 0 || (int) (m >>> 32) != rank) continue; // stale: a neighbour changed since it was queued
            id[left] = (int) m;
            dead[right] = true;
            alive--;
            int rr = next[right];
            next[left] = rr;
            if (rr >= 0) prev[rr] = left;
            int p = prev[left];
            if (p >= 0) {
                long pm = merges.get(id[p], id[left]);
                if (pm >= 0) {
                    if (size == heap.length) heap = java.util.Arrays.copyOf(heap, heap.length * 2);
                    heap[size] = (pm & 0xFFFFFFFF00000000L) | p;
                    size = siftUp(heap, size);
                }
            }
            if (rr >= 0) {
                long nm = merges.get(id[left], id[rr]);
                if (nm >= 0) {
                    if (size == heap.length) heap = java.util.Arrays.copyOf(heap, heap.length * 2);
                    heap[size] = (nm & 0xFFFFFFFF00000000L) | left;
                    size = siftUp(heap, size);
                }
            }
        }
        int[] out = new int[alive];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) out[k++] = id[i];
        return out;
    }

    /** Inserts heap[size] and returns the new size. */
    private static int siftUp(long[] heap, int size) {
        int i = size;
        long v = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= v) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = v;
        return size + 1;
    }

    private static void siftDown(long[] heap, int size) {
        if (size == 0) return;
        int i = 0;
        long v = heap[0];
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) break;
            if (c + 1 < size && heap[c + 1] < heap[c]) c++;
            if (heap[c] >= v) break;
            heap[i] = heap[c];
            i = c;
        }
        heap[i] = v;
    }
}
