package org.redhare.core.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the shared test data ({@code ../shared}: fixtures, models, tokenizers, conformance goldens)
 * beside the checkout. Tests that need it call {@link #require(String)}, which skips the test with a
 * clear message when the folder is absent (a user's clone).
 */
public final class SharedFiles {
    private SharedFiles() {}

    public static Path root() {
        String prop = System.getProperty("redhare.shared");
        if (prop != null && Files.isDirectory(Path.of(prop))) {
            return Path.of(prop).normalize();
        }
        String env = System.getenv("REDHARE_SHARED");
        if (env != null && Files.isDirectory(Path.of(env))) {
            return Path.of(env).normalize();
        }
        for (String c : new String[] {"../shared", "../../shared"}) {
            Path p = Path.of(c).toAbsolutePath().normalize();
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }

    /** The shared path {@code relative}, or skips the calling test when it is not there. */
    public static Path require(String relative) {
        Path root = root();
        assumeTrue(root != null, "../shared (test fixtures) not found next to the checkout: skipped. "
                + "Set -Dredhare.shared=DIR or REDHARE_SHARED=DIR to run it.");
        Path p = root.resolve(relative);
        assumeTrue(Files.exists(p), p + " not found: skipped");
        return p;
    }
}
