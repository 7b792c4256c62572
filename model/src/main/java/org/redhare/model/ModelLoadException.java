package org.redhare.model;

/**
 * A checkpoint or configuration that cannot be loaded. The message says which file (and tensor) is
 * wrong, what was expected, and what to do about it.
 */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
