package org.redhare.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KvBlockPoolTest {
    static final int BS = 4;

    @Test
    void sharedBlocksAreRefCountedAndCachedWhenReleased() {
        KvBlockPool pool = new KvBlockPool(3, BS);
        int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8};
        long k0 = KvBlockPool.key(KvBlockPool.ROOT, tokens, 0, BS);
        long k1 = KvBlockPool.key(k0, tokens, BS, BS);
        int a = pool.allocate();
        int b = pool.allocate();
        pool.publish(a, k0, KvBlockPool.ROOT, tokens, 0);
        pool.publish(b, k1, k0, tokens, BS);
        assertThat(pool.inUse()).isEqualTo(2);

        // A second holder of the same prefix shares both blocks.
        assertThat(pool.acquire(k0, KvBlockPool.ROOT, tokens, 0)).isEqualTo(a);
        assertThat(pool.acquire(k1, k0, tokens, BS)).isEqualTo(b);
        assertThat(pool.inUse()).isEqualTo(2);
        pool.release(a);
        pool.release(b);
        assertThat(pool.inUse()).isEqualTo(2); // still held once
        pool.release(a);
        pool.release(b);
        assertThat(pool.inUse()).isZero();
        assertThat(pool.cached()).isEqualTo(2);
        assertThat(pool.available()).isEqualTo(3);

        // A cached block comes back on a hit; wrong tokens under the same key (a collision) never match.
        int[] other = {1, 2, 3, 9};
        assertThat(pool.acquire(k0, KvBlockPool.ROOT, other, 0)).isEqualTo(-1);
        assertThat(pool.acquire(k1, 12345L, tokens, BS)).isEqualTo(-1);
        assertThat(pool.acquire(k0, KvBlockPool.ROOT, tokens, 0)).isEqualTo(a);
        assertThat(pool.cached()).isEqualTo(1);
        pool.release(a);
        assertThatThrownBy(() -> pool.release(a)).hasMessageContaining("released more often");
    }

    @Test
    void freeBlocksGoFirstThenCachedOnesLeastRecentlyReleased() {
        KvBlockPool pool = new KvBlockPool(3, BS);
        int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8};
        long k0 = KvBlockPool.key(KvBlockPool.ROOT, tokens, 0, BS);
        long k1 = KvBlockPool.key(k0, tokens, BS, BS);
        int a = pool.allocate();
        int b = pool.allocate();
        pool.publish(a, k0, KvBlockPool.ROOT, tokens, 0);
        pool.publish(b, k1, k0, tokens, BS);
        pool.release(b); // b released first: evicted first
        pool.release(a);
        int c = pool.allocate();
        assertThat(c).isNotIn(a, b); // the never-keyed free block goes before any cached one
        assertThat(pool.allocate()).isEqualTo(b);
        assertThat(pool.contains(k1)).isFalse();
        assertThat(pool.contains(k0)).isTrue();
        assertThat(pool.allocate()).isEqualTo(a);
        assertThat(pool.available()).isZero();
        assertThatThrownBy(pool::allocate).hasMessageContaining("exhausted");
    }

    @Test
    void keysChainThePrefix() {
        int[] x = {1, 2, 3, 4, 5, 6, 7, 8};
        int[] y = {9, 2, 3, 4, 5, 6, 7, 8};
        long x0 = KvBlockPool.key(KvBlockPool.ROOT, x, 0, BS);
        long y0 = KvBlockPool.key(KvBlockPool.ROOT, y, 0, BS);
        // Same second block after a different first block: different keys.
        assertThat(KvBlockPool.key(x0, x, BS, BS)).isNotEqualTo(KvBlockPool.key(y0, y, BS, BS));
        assertThat(KvBlockPool.key(x0, x, BS, BS)).isEqualTo(KvBlockPool.key(x0, y, BS, BS));
    }
}
