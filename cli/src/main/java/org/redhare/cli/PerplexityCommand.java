package org.redhare.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.redhare.core.Parallel;
import org.redhare.engine.Scorer;
import org.redhare.model.CausalLM;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = "Perplexity of a text or token sequence under the model (teacher forcing).")
final class PerplexityCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    static final class Input {
        @Option(names = "--file", paramLabel = "TEXT_FILE", description = "text file to score (tokenized with the model's tokenizer)")
        Path file;

        @Option(names = "--tokens", paramLabel = "IDS", description = "token ids to score, exactly as given: 1,2,3")
        String tokens;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--logits-out", paramLabel = "FILE",
            description = "write the logits of every position: little-endian float32 [positions, vocab]; row i = after tokens 0..i")
    Path logitsOut;

    @Option(names = "--batch", defaultValue = "512", description = "tokens per forward pass (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw CliException.usage("--batch must be at least 1");
        }
        try (Parallel pool = modelOptions.pool(); CausalLM model = modelOptions.load(pool)) {
            int[] ids;
            if (input.tokens != null) {
                ids = TokenIds.parse(input.tokens);
            } else {
                if (!Files.isRegularFile(input.file)) {
                    throw CliException.usage("--file " + input.file + " does not exist");
                }
                ids = TextCodec.require(modelOptions.model, "--file").encodePrompt(Files.readString(input.file));
            }
            if (ids.length < 2) {
                throw CliException.usage("perplexity needs at least 2 tokens, got " + ids.length);
            }
            Scorer.Result r;
            long t0 = System.nanoTime();
            if (logitsOut != null) {
                try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(logitsOut), 1 << 20)) {
                    ByteBuffer row = ByteBuffer.allocate(model.vocabSize() * 4).order(ByteOrder.LITTLE_ENDIAN);
                    r = Scorer.score(model, ids, batch, modelOptions.kvDtype(), (pos, logits, off, vocab) -> {
                        row.clear();
                        row.asFloatBuffer().put(logits, off, vocab);
                        os.write(row.array(), 0, vocab * 4);
                    });
                }
            } else {
                r = Scorer.score(model, ids, batch, modelOptions.kvDtype(), null);
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            if (json) {
                System.out.println(new ObjectMapper().writeValueAsString(Map.of("tokens", r.tokens(), "mean_nll", r.meanNll(),
                        "perplexity", r.perplexity(), "seconds", secs)));
            } else {
                System.out.printf("perplexity: %.6f (mean NLL %.6f over %d predicted tokens)%n", r.perplexity(), r.meanNll(), r.tokens() - 1);
                Progress.info(String.format("%d tokens in %.2f s (%.1f tok/s)", r.tokens(), secs, r.tokens() / secs));
            }
            return 0;
        }
    }
}
