package org.redhare.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.redhare.model.Pooling;

/** Engine-thread state of one generation. */
final class Sequence {
    final GenerationHandle handle;
    final GenerationRequest request;
    final Sampler sampler;
    final int promptLength;
    int[] tokens;     // prompt then generated
    int length;       // tokens in use
    int computed;     // tokens whose keys/values are in the cache
    int generated;
    int[] blocks = new int[4];
    int blockCount;
    // With the sliding-window layers in a pool of their own (Engine): their block for each index of blocks, -1 where given
    // back (behind the window) or not taken; indices below windowFrom hold none.
    int[] windowBlocks = new int[4];
    int windowFrom;
    long[] blockKeys = new long[4]; // prefix-cache key of each full block, computed lazily
    int keysKnown;                  // leading blocks whose key is in blockKeys
    int published;                  // leading blocks already offered to the prefix cache
    int pendingFrom;                // blocks [pendingFrom, pendingTo) announced as being computed by this sequence
    int pendingTo;
    boolean started;                // admitted at least once
    int cachedPromptTokens;         // prompt tokens reused from the prefix cache at first admission
    float refusedRate;              // how often its constraint refused the drawn token lately (a moving average)
    final long submitNanos;
    long admitNanos;
    long firstTokenNanos;
    // Prompt logprobs, filled as prefill chunks are computed; sent once.
    final float[] promptLogprobs;               // [promptLength] or null
    final List<List<TokenLogprob>> promptTop;   // [promptLength] or null
    boolean promptSent;
    // An embedding (null pooling: a generation): its pooled states so far, folded in as chunks are computed.
    final Pooling pooling;
    final int poolSkip;           // leading tokens left out of the pooling
    double[] pooled;              // [hidden]: sums, or maxima, or the chosen token's state
    double poolWeight;            // tokens (or position weights) folded in
    // Drafting (prompt lookup): this step's draft tokens, also written into tokens[length ..) for the forward pass.
    int[] draft = new int[0];
    int drafted;                  // draft tokens in this step (0: a plain decode token)
    int draftBase;                // position of this step's first logits row (the last token before the draft)
    int draftPause;               // steps to skip drafting after a draft the model refused
    int draftBackoff;             // the next pause after a refusal (doubles, up to a limit; reset by an accepted draft)
    int draftLimit = 2;           // most draft tokens the next step takes (grows while drafts are kept whole)

    Sequence(GenerationHandle handle, GenerationRequest request, int vocab, long now) {
        this(handle, request, vocab, now, null, 0);
    }

    Sequence(GenerationHandle handle, GenerationRequest request, int vocab, long now, Pooling pooling, int poolSkip) {
        this.pooling = pooling;
        this.poolSkip = poolSkip;
        this.handle = handle;
        this.request = request;
        this.sampler = new Sampler(request.sampling(), vocab, request.prompt());
        this.promptLength = request.prompt().length;
        this.tokens = Arrays.copyOf(request.prompt(), request.prompt().length + 16);
        this.length = request.prompt().length;
        this.submitNanos = now;
        if (request.promptLogprobs()) {
            promptLogprobs = new float[promptLength];
            promptLogprobs[0] = Float.NaN;
            promptTop = new ArrayList<>(promptLength);
            for (int i = 0; i < promptLength; i++) {
                promptTop.add(List.of());
            }
        } else {
            promptLogprobs = null;
            promptTop = null;
            promptSent = true;
        }
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
        generated++;
    }

    /** Room for {@code n} tokens past {@link #length} in {@link #tokens}. */
    void ensureRoom(int n) {
        if (length + n > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, length + n));
        }
    }

    void addBlock(int b) {
        addBlock(b, -1);
    }

    /** Appends block {@code b} of the one pool and {@code wb} of the window layers' pool (-1 for none). */
    void addBlock(int b, int wb) {
        if (blockCount == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
            windowBlocks = Arrays.copyOf(windowBlocks, blocks.length);
        }
        windowBlocks[blockCount] = wb;
        blocks[blockCount++] = b;
    }

    int blocksNeeded(int tokensTotal, int blockSize) {
        return (tokensTotal + blockSize - 1) / blockSize - blockCount;
    }

    /** The prefix-cache key of full block {@code i} (tokens {@code [i*bs, (i+1)*bs)} must all be known). */
    long blockKey(int i, int bs) {
        while (keysKnown <= i) {
            if (keysKnown == blockKeys.length) {
                blockKeys = Arrays.copyOf(blockKeys, blockKeys.length * 2);
            }
            long parent = keysKnown == 0 ? KvBlockPool.ROOT : blockKeys[keysKnown - 1];
            blockKeys[keysKnown] = KvBlockPool.key(parent, tokens, keysKnown * bs, bs);
            keysKnown++;
        }
        return blockKeys[i];
    }

    long parentKey(int i, int bs) {
        return i == 0 ? KvBlockPool.ROOT : blockKey(i - 1, bs);
    }

    /** Whether position {@code p}'s final hidden state goes into this embedding. */
    boolean pools(int p) {
        return pooling != null && (pooling.readsEveryToken() ? p >= poolSkip : p == promptLength - 1);
    }

    /** Folds the final hidden state of position {@code p} ({@code states[off .. off + hidden)}) into the embedding. */
    void pool(int p, float[] states, int off, int hidden) {
        if (pooled == null) {
            pooled = new double[hidden];
            if (pooling == Pooling.MAX) {
                java.util.Arrays.fill(pooled, Double.NEGATIVE_INFINITY);
            }
        }
        switch (pooling) {
            case LAST -> {
                for (int i = 0; i < hidden; i++) pooled[i] = states[off + i];
                poolWeight = 1;
            }
            case FIRST -> {
                if (p == poolSkip) {
                    for (int i = 0; i < hidden; i++) pooled[i] = states[off + i];
                    poolWeight = 1;
                }
            }
            case MEAN, MEAN_SQRT_LEN -> {
                for (int i = 0; i < hidden; i++) pooled[i] += states[off + i];
                poolWeight += 1;
            }
            case WEIGHTED_MEAN -> { // sentence-transformers weighs by position, counted from 1 at the first token
                double w = p + 1;
                for (int i = 0; i < hidden; i++) pooled[i] += w * states[off + i];
                poolWeight += w;
            }
            case MAX -> {
                for (int i = 0; i < hidden; i++) pooled[i] = Math.max(pooled[i], states[off + i]);
                poolWeight = 1;
            }
        }
    }

    /** The pooled vector, once every position has been folded in. */
    float[] embedding() {
        double div = switch (pooling) {
            case MEAN, WEIGHTED_MEAN -> poolWeight;
            case MEAN_SQRT_LEN -> Math.sqrt(poolWeight);
            default -> 1;
        };
        float[] v = new float[pooled.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (pooled[i] / div);
        }
        return v;
    }

    /** Whether the prompt's logprobs are still to be computed and sent. */
    boolean wantsPromptLogprobs() {
        return !promptSent;
    }
}
