package org.redhare.model.layers;

/**
 * Scratch float buffers shared by every layer of a model during one forward pass (layers run one
 * after another). Blocks ask for buffers by slot; one slot per purpose (not per layer), since a
 * buffer is only live within one block's forward. A buffer grows when a larger batch comes and is
 * reused afterwards, so steady-state decode allocates nothing.
 */
public final class Workspace {
    private final float[][] buffers = new float[64][];
    private final java.util.Map<String, Integer> slots = new java.util.HashMap<>();

    /** The slot number for a purpose such as "mlp.gate" (the same number for the same purpose). */
    public synchronized int slot(String purpose) {
        return slots.computeIfAbsent(purpose, k -> {
            if (slots.size() == buffers.length) {
                throw new IllegalStateException("too many workspace slots");
            }
            return slots.size();
        });
    }

    /** The buffer of {@code slot}, at least {@code size} floats (contents undefined). */
    public float[] get(int slot, int size) {
        float[] b = buffers[slot];
        if (b == null || b.length < size) {
            b = new float[size];
            buffers[slot] = b;
        }
        return b;
    }
}
