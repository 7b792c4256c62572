package org.redhare.engine;

/** Hands out KV cache block ids from a fixed pool (a free stack; O(1) allocate and free). */
final class BlockAllocator {
    private final int[] free;
    private int top;

    BlockAllocator(int blocks) {
        free = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            free[i] = blocks - 1 - i;
        }
        top = blocks;
    }

    int available() {
        return top;
    }

    int capacity() {
        return free.length;
    }

    int allocate() {
        if (top == 0) {
            throw new IllegalStateException("KV cache pool exhausted");
        }
        return free[--top];
    }

    void release(int block) {
        free[top++] = block;
    }
}
