package org.redhare.model;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The language model of a multimodal checkpoint under the names a text-only one uses: tensors whose names start with
 * one of the given prefixes appear with that prefix replaced ({@code language_model.model.} becomes {@code model.}),
 * every other tensor (the vision tower, the projector) is left out. Closing it closes the checkpoint.
 */
public final class RenamedCheckpoint implements Checkpoint {
    private final Checkpoint inner;
    private final Map<String, String> toInner = new LinkedHashMap<>(); // visible name -> stored name

    /** @param prefixes pairs of (stored prefix, visible prefix), tried in order */
    public RenamedCheckpoint(Checkpoint inner, List<Map.Entry<String, String>> prefixes) {
        this.inner = inner;
        for (String stored : inner.names()) {
            for (Map.Entry<String, String> p : prefixes) {
                if (stored.startsWith(p.getKey())) {
                    toInner.putIfAbsent(p.getValue() + stored.substring(p.getKey().length()), stored);
                    break;
                }
            }
        }
    }

    @Override
    public Collection<String> names() {
        return toInner.keySet();
    }

    @Override
    public Optional<TensorRef> find(String name) {
        String stored = toInner.get(name);
        return stored == null ? Optional.empty()
                : inner.find(stored).map(t -> new TensorRef(name, t.dtype(), t.shape(), t.data(), t.file()));
    }

    @Override
    public boolean contains(String name) {
        String stored = toInner.get(name);
        return stored != null && inner.contains(stored);
    }

    @Override
    public TensorRef.Info info(String name) {
        String stored = toInner.get(name);
        return stored == null ? tensor(name).info() : inner.info(stored);
    }

    @Override
    public String describe() {
        return inner.describe() + " (its language model)";
    }

    @Override
    public void close() {
        inner.close();
    }
}
