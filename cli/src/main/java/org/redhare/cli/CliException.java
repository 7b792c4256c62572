package org.redhare.cli;

/** A user-facing command failure; {@code usage} marks bad arguments (exit code 2). */
final class CliException extends RuntimeException {
    final boolean usage;

    CliException(String message, boolean usage) {
        super(message);
        this.usage = usage;
    }

    static CliException usage(String message) {
        return new CliException(message, true);
    }

    static CliException failure(String message) {
        return new CliException(message, false);
    }
}
