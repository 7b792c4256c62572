package org.redhare.model.layers;

import java.util.IdentityHashMap;
import java.util.Map;
import org.redhare.core.Parallel;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.ops.Rope;
import org.redhare.model.ForwardBatch;

/** What the blocks of one forward pass share: the batch, the cache, the pool, per-token slots and RoPE angles. */
public final class LayerContext {
    public final Parallel pool;
    public final PagedKvCache cache;
    public final ForwardBatch batch;
    public final Workspace workspace;
    public final int n;
    /** Cache storage row of each token. */
    public final int[] slots;
    private int[] windowSlots; // the same for sliding-window layers (ForwardBatch.windowTables), made when first asked
    private final Map<Rope, float[][]> angles = new IdentityHashMap<>();
    public int layer;

    public LayerContext(Parallel pool, PagedKvCache cache, ForwardBatch batch, Workspace workspace) {
        this.pool = pool;
        this.cache = cache;
        this.batch = batch;
        this.workspace = workspace;
        this.n = batch.size();
        this.slots = new int[n];
        for (int t = 0; t < n; t++) {
            slots[t] = cache.slotOf(batch.tables()[t], batch.positions()[t]);
        }
    }

    private LayerContext(LayerContext all, int n) {
        this(all, n, all.pool, all.workspace);
    }

    private LayerContext(LayerContext all, int n, Parallel pool, Workspace workspace) {
        this.pool = pool;
        this.cache = all.cache;
        this.batch = all.batch;
        this.workspace = workspace;
        this.n = n;
        this.slots = all.slots;
        this.windowSlots = all.windowSlots;
        this.layer = all.layer;
    }

    /** Cache storage row of each token in the sliding-window layers ({@link ForwardBatch#windowTables}). */
    public int[] windowSlots() {
        if (windowSlots == null) {
            if (batch.windowTables() == batch.tables()) {
                windowSlots = slots;
            } else {
                int[] s = new int[slots.length];
                for (int t = 0; t < s.length; t++) {
                    s[t] = cache.slotOf(batch.windowTables()[t], batch.positions()[t]);
                }
                windowSlots = s;
            }
        }
        return windowSlots;
    }

    /**
     * This pass's context with {@code pool} and {@code workspace} in place of its own: for a block that one worker runs
     * whole inside a job of the pass's pool (a mixture's expert), on a one-thread pool and buffers of that worker's own.
     */
    public LayerContext on(Parallel pool, Workspace workspace) {
        return new LayerContext(this, n, pool, workspace);
    }

    /**
     * This pass's context for a feed-forward block that runs on the first {@code n} rows only (the last layer, whose
     * other rows nobody reads): blocks of that kind use {@link #n}, the pool and the workspace, never the batch's tokens.
     */
    public LayerContext firstRows(int n) {
        return n == this.n ? this : new LayerContext(this, n);
    }

    /** cos and sin {@code [n, rotaryDim/2]} of every token for {@code rope}, computed once per forward pass. */
    public float[][] angles(Rope rope) {
        return angles.computeIfAbsent(rope, r -> {
            int half = r.rotaryDim() / 2;
            float[] cos = new float[n * half];
            float[] sin = new float[n * half];
            for (int t = 0; t < n; t++) {
                r.angles(batch.positions()[t], cos, sin, t * half);
            }
            return new float[][] {cos, sin};
        });
    }
}
