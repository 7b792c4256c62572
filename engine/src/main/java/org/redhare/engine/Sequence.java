package org.redhare.engine;

import java.util.Arrays;

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
    final long submitNanos;
    long admitNanos;
    long firstTokenNanos;

    Sequence(GenerationHandle handle, GenerationRequest request, int vocab, long now) {
        this.handle = handle;
        this.request = request;
        this.sampler = new Sampler(request.sampling(), vocab, request.prompt());
        this.promptLength = request.prompt().length;
        this.tokens = Arrays.copyOf(request.prompt(), request.prompt().length + 16);
        this.length = request.prompt().length;
        this.submitNanos = now;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
        generated++;
    }

    void addBlock(int b) {
        if (blockCount == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
        }
        blocks[blockCount++] = b;
    }

    int blocksNeeded(int tokensTotal, int blockSize) {
        return (tokensTotal + blockSize - 1) / blockSize - blockCount;
    }
}
