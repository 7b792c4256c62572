package org.redhare.model;

import java.util.Collection;
import java.util.Optional;

/** A set of named tensors, memory-mapped from one or more files. Closing it unmaps them. */
public interface Checkpoint extends AutoCloseable {

    Collection<String> names();

    Optional<TensorRef> find(String name);

    /** The tensor, or a clear error naming the checkpoint and the missing tensor. */
    default TensorRef tensor(String name) {
        return find(name).orElseThrow(() -> new ModelLoadException("tensor '" + name + "' is missing from " + describe()
                + ": the checkpoint does not match its config.json architecture, or the download is incomplete"));
    }

    default boolean contains(String name) {
        return find(name).isPresent();
    }

    /** The tensor's type, shape and size, for summaries; checkpoints that make tensors on demand answer without making them. */
    default TensorRef.Info info(String name) {
        return tensor(name).info();
    }

    /** Where the tensors come from, for messages. */
    String describe();

    @Override
    void close();
}
