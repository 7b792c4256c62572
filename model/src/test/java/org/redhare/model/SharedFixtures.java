package org.redhare.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the shared fixtures folder ({@code ../shared}) for tests, or skips the test with a clear message.
 * Looks, in order, at the system property {@code redhare.shared}, the environment variable
 * {@code REDHARE_SHARED}, then {@code ../shared} and {@code ../../shared} relative to the working directory.
 */
public final class SharedFixtures {
    private SharedFixtures() {
    }

    /** The shared folder, or the test is skipped (JUnit assumption) when none is found. */
    public static Path root() {
        List<String> tried = new ArrayList<>();
        for (String candidate : candidates()) {
            if (candidate == null || candidate.isBlank()) {
                continue;
            }
            Path p = Path.of(candidate).toAbsolutePath().normalize();
            tried.add(p.toString());
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        assumeTrue(false, "../shared not found (tried " + tried
                + "; set REDHARE_SHARED=/path/to/shared to run these tests): skipped");
        throw new AssertionError("unreachable");
    }

    /** A path inside the shared folder; the test is skipped when it does not exist. */
    public static Path path(String relative) {
        Path p = root().resolve(relative);
        assumeTrue(Files.exists(p), p + " not found in the shared folder: skipped");
        return p;
    }

    private static List<String> candidates() {
        List<String> c = new ArrayList<>();
        c.add(System.getProperty("redhare.shared"));
        c.add(System.getenv("REDHARE_SHARED"));
        c.add("../shared");
        c.add("../../shared");
        return c;
    }
}
