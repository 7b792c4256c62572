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
import org.redhare.engine.LogitsFile;
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

    @Option(names = "--kl-base", paramLabel = "FILE",
            description = "save this run's logits as the reference for a later --kl comparison (e.g. of a quantized model)")
    Path klBase;

    @Option(names = "--kl", paramLabel = "FILE",
            description = "compare with reference logits saved by --kl-base: mean KL divergence, top-1 agreement, perplexity ratio")
    Path kl;

    @Option(names = "--batch", defaultValue = "512", description = "tokens per forward pass (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw CliException.usage("--batch must be at least 1");
        }
        try (Parallel pool = modelOptions.pool(); CausalLM model = modelOptions.loadForOneSequence(pool)) {
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
            if (klBase != null && kl != null) {
                throw CliException.usage("--kl-base writes a reference and --kl compares with one: use one at a time");
            }
            if (kl != null) {
                return compare(model, ids);
            }
            if (klBase != null) {
                try (LogitsFile.Writer wr = new LogitsFile.Writer(klBase, ids, model.vocabSize())) {
                    r = Scorer.score(model, ids, batch, modelOptions.kvDtype(model), (pos, logits, off, vocab) -> wr.row(logits, off, vocab));
                }
                Progress.info("saved reference logits of " + ids.length + " positions to " + klBase);
            } else if (logitsOut != null) {
                try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(logitsOut), 1 << 20)) {
                    ByteBuffer row = ByteBuffer.allocate(model.vocabSize() * 4).order(ByteOrder.LITTLE_ENDIAN);
                    r = Scorer.score(model, ids, batch, modelOptions.kvDtype(model), (pos, logits, off, vocab) -> {
                        row.clear();
                        row.asFloatBuffer().put(logits, off, vocab);
                        os.write(row.array(), 0, vocab * 4);
                    });
                }
            } else {
                r = Scorer.score(model, ids, batch, modelOptions.kvDtype(model), null);
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            report(r, secs);
            return 0;
        }
    }

    private void report(Scorer.Result r, double secs) throws Exception {
        {
            if (json) {
                System.out.println(new ObjectMapper().writeValueAsString(Map.of("tokens", r.tokens(), "mean_nll", r.meanNll(),
                        "perplexity", r.perplexity(), "seconds", secs)));
            } else {
                System.out.printf("perplexity: %.6f (mean NLL %.6f over %d predicted tokens)%n", r.perplexity(), r.meanNll(), r.tokens() - 1);
                Progress.info(String.format("%d tokens in %.2f s (%.1f tok/s)", r.tokens(), secs, r.tokens() / secs));
            }
        }
    }

    /** Scores with this model and compares each position with the reference file. */
    private int compare(CausalLM model, int[] ids) throws Exception {
        try (LogitsFile.Reader ref = new LogitsFile.Reader(kl)) {
            int[] refIds = ref.tokens();
            if (input.file != null || input.tokens != null) {
                if (!java.util.Arrays.equals(refIds, ids)) {
                    throw CliException.usage("--kl " + kl + " was computed on a different token sequence (" + refIds.length
                            + " tokens) than this one (" + ids.length + "); score the same text");
                }
            }
            if (ref.vocab() != model.vocabSize()) {
                throw CliException.usage("--kl " + kl + " has vocabulary " + ref.vocab() + " but this model has " + model.vocabSize());
            }
            LogitsFile.Comparison cmp = new LogitsFile.Comparison();
            float[] refRow = new float[ref.vocab()];
            Scorer.Result r = Scorer.score(model, ids, batch, modelOptions.kvDtype(model), (pos, logits, off, vocab) -> {
                ref.next(refRow);
                cmp.add(refRow, logits, off, vocab, pos + 1 < ids.length ? ids[pos + 1] : -1);
            });
            if (json) {
                var m = new java.util.LinkedHashMap<String, Object>();
                m.put("tokens", r.tokens());
                m.put("mean_kl", cmp.meanKl());
                m.put("max_kl", cmp.maxKl());
                m.put("top1_agreement", cmp.top1Agreement());
                m.put("perplexity", cmp.perplexityModel());
                m.put("perplexity_base", cmp.perplexityRef());
                m.put("perplexity_ratio", cmp.perplexityRatio());
                System.out.println(new ObjectMapper().writeValueAsString(m));
            } else {
                System.out.printf("mean KL divergence: %.6f (max %.6f) over %d positions%n", cmp.meanKl(), cmp.maxKl(), cmp.positions());
                System.out.printf("top-1 agreement:    %.2f%%%n", 100 * cmp.top1Agreement());
                System.out.printf("perplexity:         %.6f vs base %.6f (ratio %.6f)%n", cmp.perplexityModel(), cmp.perplexityRef(),
                        cmp.perplexityRatio());
            }
            return 0;
        }
    }
}
