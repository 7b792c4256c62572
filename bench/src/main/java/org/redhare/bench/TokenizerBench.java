package org.redhare.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.redhare.text.Tokenizer;
import org.redhare.text.Tokenizers;

/**
 * Encode throughput of the tokenizers on one thread: the english and code strings of the conformance corpus,
 * repeated to about 1 MB of UTF-8, encoded as one text. Throughput in MB/s = ops/s × {@link #MEGABYTES}
 * (the setup prints the exact size). The shared folder is found as -Dredhare.shared, REDHARE_SHARED, ../shared
 * or ./shared relative to the working directory.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class TokenizerBench {
    static final double MEGABYTES = 1.0;

    @Param({"qwen3", "llama3"})
    public String tokenizer;

    private Tokenizer tok;
    private String text;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        Path shared = sharedRoot();
        tok = Tokenizers.load(shared.resolve("tokenizers").resolve(tokenizer));
        ObjectMapper json = new ObjectMapper();
        StringBuilder corpus = new StringBuilder();
        for (String line : Files.readAllLines(shared.resolve("conformance/tokenizers/corpus.jsonl"))) {
            JsonNode c = json.readTree(line);
            String cat = c.path("category").asText();
            if (cat.equals("english") || cat.equals("code")) corpus.append(c.path("text").asText()).append('\n');
        }
        StringBuilder sb = new StringBuilder();
        int target = (int) (MEGABYTES * 1_000_000);
        while (sb.toString().getBytes(StandardCharsets.UTF_8).length < target) sb.append(corpus);
        byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
        text = new String(bytes, 0, target, StandardCharsets.UTF_8).replace("\uFFFD", "");
        System.out.printf("%n%s: %d bytes of UTF-8, %d tokens%n", tokenizer, text.getBytes(StandardCharsets.UTF_8).length,
                tok.encode(text, false, false).length);
    }

    private static Path sharedRoot() {
        for (String c : new String[] {System.getProperty("redhare.shared"), System.getenv("REDHARE_SHARED"), "../shared", "shared",
                "../../shared"}) {
            if (c != null && Files.isDirectory(Path.of(c, "tokenizers"))) return Path.of(c);
        }
        throw new IllegalStateException("the shared folder with tokenizers/ was not found: run from the checkout "
                + "beside ../shared or pass -Dredhare.shared=DIR");
    }

    @Benchmark
    public int[] encode() {
        return tok.encode(text, false, false);
    }
}
