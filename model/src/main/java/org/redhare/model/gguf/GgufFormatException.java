package org.redhare.model.gguf;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A GGUF file could not be read because its content is not what the format allows. The message names
 * the file, what is wrong, and what to do.
 */
public final class GgufFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;

    public GgufFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    /** The file that failed to parse. */
    public Path file() {
        return file;
    }
}
