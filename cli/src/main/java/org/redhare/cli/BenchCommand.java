package org.redhare.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.redhare.core.Parallel;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.core.matrix.KernelSettings;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;
import org.redhare.model.ModelSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Model speed in the spirit of llama-bench: prompt processing of {@code -p} tokens (in batches) and
 * decode of {@code -n} tokens one at a time, after a warm-up, repeated; medians reported. With
 * {@code --sequences S}, decode runs S sequences together, one token of each per forward pass, as the
 * server's continuous batching runs S users: the model's batched decode rate without HTTP, scheduling or
 * a client on the same machine (what {@code bench-serve} adds on top). With {@code --depth D}, as llama-bench's
 * {@code -d}, each decoded token attends to {@code D} positions of context before it (a prompt of {@code D} tokens
 * computed once, before the warm-up and untimed, and shared by every sequence as the blocks of one cached prefix), so
 * the decode rate includes attention over a long chat. With {@code --paired-quantize TYPE}, the same model quantized to
 * TYPE is loaded beside it and the two are measured in alternated rounds (A B B A a repetition), each round's ratio
 * reported: on hosts whose bandwidth moves from minute to minute, two separate runs compare a fast minute with a slow one.
 * With {@code --paired-setting NAME=VALUE}, run B takes that kernel setting ({@link KernelSettings}) and run A the
 * defaults, on the same model unless {@code --paired-quantize} loads another. With {@code --paired-model PATH}, run B is
 * another checkpoint (an FP8 one against its BF16 original, say), loaded with the same options.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Prompt-processing and decode speed of a model.")
final class BenchCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Option(names = {"-p", "--prompt-tokens"}, defaultValue = "512", description = "prompt tokens (default ${DEFAULT-VALUE}); 0 skips")
    int promptTokens;

    @Option(names = {"-n", "--gen-tokens"}, defaultValue = "128", description = "decoded tokens (default ${DEFAULT-VALUE}); 0 skips")
    int genTokens;

    @Option(names = {"-b", "--batch"}, defaultValue = "512", description = "tokens per forward pass for the prompt (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = {"-r", "--repetitions"}, defaultValue = "3", description = "measured repetitions (default ${DEFAULT-VALUE})")
    int reps;

    @Option(names = {"-s", "--sequences"}, defaultValue = "1",
            description = "sequences decoded together, one token each per forward pass, as a server batches its users "
                    + "(default ${DEFAULT-VALUE}); the decode rate is then the tokens of all of them per second")
    int sequences;

    @Option(names = {"-d", "--depth"}, defaultValue = "0",
            description = "positions of context before the first decoded token (default ${DEFAULT-VALUE}): decode then "
                    + "attends to a chat this long, as llama-bench's -d; the context is computed once, untimed, and shared "
                    + "by all --sequences")
    int depth;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Option(names = "--paired-quantize", paramLabel = "TYPE",
            description = "also load the model with its linear weights quantized to TYPE (fp8, q8_0, q4_0, ...) and measure the "
                    + "two in alternated rounds, A B B A each repetition, so that both meet the same host: each one's rates "
                    + "and, per repetition, the quantized model's over the first's (a ratio the host's bandwidth, moving from "
                    + "minute to minute, moves far less than two separate runs)")
    String pairedQuantize;

    @Option(names = "--paired-setting", paramLabel = "NAME=VALUE",
            description = "measure run B with this kernel setting and run A with the defaults, in the same alternated rounds "
                    + "(on the same model, unless --paired-quantize loads another): NAME one of rowsAhead, fp8RowsAhead "
                    + "(prefetch distances in bytes: positive into L1, negative into L2), screenOneTokenDots (1 or 0: one "
                    + "token's LM head screen in integers where the CPU can: AVX512-VNNI, AVX2), screenBatches (1 or 0: "
                    + "several users' greedy tokens screened at once, in integers, or the exact head); repeatable")
    List<String> pairedSettings;

    @Option(names = "--paired-model", paramLabel = "PATH",
            description = "run B on this model (a checkpoint directory or GGUF file, loaded with the same options; with "
                    + "--paired-quantize, quantized to that type) in the same alternated rounds: two checkpoints compared on "
                    + "the same minutes of the host, e.g. an FP8 checkpoint against its BF16 original")
    Path pairedModel;

    @Override
    public Integer call() throws Exception {
        if (promptTokens < 0 || genTokens < 0 || depth < 0 || batch < 1 || reps < 1 || sequences < 1) {
            throw CliException.usage("-p, -n and --depth must be >= 0, --batch, --repetitions and --sequences >= 1");
        }
        org.redhare.model.quant.Quantization paired = null;
        if (pairedQuantize != null) {
            try {
                paired = org.redhare.model.quant.Quantization.parse(pairedQuantize);
            } catch (IllegalArgumentException e) {
                throw CliException.usage("--paired-quantize: " + e.getMessage());
            }
        }
        Map<String, Long> settings = settings();
        boolean pairs = paired != null || !settings.isEmpty() || pairedModel != null;
        if (pairedModel != null && !java.nio.file.Files.exists(pairedModel)) {
            throw CliException.usage("--paired-model: " + pairedModel + " does not exist (a checkpoint directory or a .gguf file)");
        }
        try (Parallel pool = modelOptions.pool(); CausalLM model = modelOptions.load(pool);
             CausalLM other = pairedModel != null ? modelOptions.load(pool, pairedModel, paired != null ? paired : modelOptions.quantization())
                     : paired == null ? null : modelOptions.load(pool, paired);
             Run a = new Run(model, pairs ? "A: " : "", Map.of());
             Run b = pairs ? new Run(other == null ? model : other, "B: ", settings) : null) {
            int rounds = b == null ? reps : 2 * reps;
            a.rates(rounds);
            if (b != null) {
                b.rates(rounds);
            }
            for (int r = 0; r < reps; r++) {
                if (b == null) {
                    a.measure(r);
                } else { // A B B A: a drift of the host within the repetition falls on both alike
                    a.measure(2 * r);
                    b.measure(2 * r);
                    b.measure(2 * r + 1);
                    a.measure(2 * r + 1);
                }
            }
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode o = a.json(m, pool);
                if (b != null) {
                    ObjectNode q = b.json(m, pool);
                    if (paired != null) {
                        q.put("quantize", paired.toString());
                    }
                    if (pairedModel != null) {
                        q.put("model", pairedModel.toString());
                    }
                    if (!settings.isEmpty()) {
                        q.set("settings", m.valueToTree(settings));
                    }
                    if (promptTokens > 0) { // a phase not measured has no ratio (0 / 0)
                        q.set("pp_ratio_per_repetition", m.valueToTree(b.ratios(a, true)));
                        q.put("pp_ratio", median(b.ratios(a, true)));
                    }
                    if (genTokens > 0) {
                        q.set("tg_ratio_per_repetition", m.valueToTree(b.ratios(a, false)));
                        q.put("tg_ratio", median(b.ratios(a, false)));
                    }
                    o.set("paired", q);
                }
                System.out.println(m.writeValueAsString(o));
            } else {
                System.out.printf("| model | threads | pp%d tok/s | tg%d%s tok/s | read/token | tg x read |%n", promptTokens, genTokens, tgLabel());
                a.row(pool, modelOptions.model.getFileName().toString());
                if (b != null) {
                    b.row(pool, (pairedModel != null ? pairedModel : modelOptions.model).getFileName() + (paired == null ? "" : " --quantize " + paired)
                            + (settings.isEmpty() ? "" : " " + settings.toString().replace(", ", " ").replaceAll("[{}]", "")));
                    if (promptTokens > 0) {
                        System.out.printf("B / A per repetition, prompts: %s (median %.3f)%n", list(b.ratios(a, true)), median(b.ratios(a, true)));
                    }
                    if (genTokens > 0) {
                        System.out.printf("B / A per repetition, decode: %s (median %.3f)%n", list(b.ratios(a, false)), median(b.ratios(a, false)));
                    }
                }
            }
            return 0;
        }
    }

    /** The --paired-setting values by name, checked. */
    private Map<String, Long> settings() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String s : pairedSettings == null ? List.<String>of() : pairedSettings) {
            int eq = s.indexOf('=');
            String name = eq < 0 ? s : s.substring(0, eq).trim();
            try {
                KernelSettings.requireKnown(name);
            } catch (IllegalArgumentException e) {
                throw CliException.usage("--paired-setting " + s + ": " + e.getMessage() + " (as --paired-setting NAME=VALUE)");
            }
            try {
                out.put(name, Long.parseLong(s.substring(eq + 1).trim()));
            } catch (NumberFormatException e) {
                throw CliException.usage("--paired-setting " + s + ": the value must be a whole number (bytes for a distance, negative: into L2;"
                        + " 1 or 0 for screenOneTokenDots and screenBatches)");
            }
        }
        return out;
    }

    private static String list(double[] x) {
        StringBuilder sb = new StringBuilder();
        for (double v : x) {
            sb.append(sb.isEmpty() ? "" : " ").append(String.format("%.3f", v));
        }
        return sb.toString();
    }

    /** One model's cache, tables and timed rounds: the context (--depth) and a warm-up done when made. */
    private final class Run implements AutoCloseable {
        private final CausalLM model;
        private final String label;
        private final Map<String, Long> settings;
        private final PagedKvCache cache;
        private final int[] table;
        private final int[][] tables;
        private final int[] prompt;
        private final float[] logits;
        private double[] pp = new double[0];
        private double[] tg = new double[0];

        Run(CausalLM model, String label, Map<String, Long> settings) {
            this.model = model;
            this.label = label;
            this.settings = settings;
            KernelSettings.apply(settings);
            int ctx = Math.max(promptTokens, depth + genTokens + 1) + 1;
            if (ctx > model.config().contextLength()) {
                throw CliException.usage("-p/-n/--depth need " + ctx + " positions but the model's context is " + model.config().contextLength());
            }
            int blockSize = 16;
            int shared = depth / blockSize; // whole blocks of the context, shared by every sequence
            int own = (depth % blockSize + genTokens + 1 + blockSize - 1) / blockSize; // each sequence's own blocks
            int next = 0;
            table = new int[(Math.max(promptTokens, 1) + blockSize - 1) / blockSize]; // the measured prompt's
            for (int i = 0; i < table.length; i++) {
                table[i] = next++;
            }
            int[] context = new int[shared];
            for (int i = 0; i < shared; i++) {
                context[i] = next++;
            }
            tables = new int[sequences][];
            for (int q = 0; q < sequences; q++) {
                tables[q] = Arrays.copyOf(context, shared + own);
                for (int i = shared; i < tables[q].length; i++) {
                    tables[q][i] = next++;
                }
            }
            int vocab = model.vocabSize();
            logits = new float[sequences * vocab];
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(42);
            prompt = new int[Math.max(promptTokens, 1)];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = rnd.nextInt(vocab);
            }
            cache = model.kvLayout().allocate(next, blockSize, modelOptions.kvDtype(model));
            if (depth > 0) {
                Progress.info(label + "context of " + depth + " positions…");
                int[] chat = new int[depth];
                for (int i = 0; i < depth; i++) {
                    chat[i] = rnd.nextInt(vocab);
                }
                runPrompt(model, cache, Arrays.copyOf(chat, shared * blockSize), 0, tables[0], logits);
                for (int[] t : tables) { // the part of a block past the shared ones, in each sequence's own block
                    runPrompt(model, cache, Arrays.copyOfRange(chat, shared * blockSize, depth), shared * blockSize, t, logits);
                }
            }
            Progress.info(label + "warm-up…");
            runPrompt(model, cache, Arrays.copyOf(prompt, Math.min(prompt.length, 64)), 0, table, logits);
            runDecode(model, cache, Math.min(Math.max(genTokens, 1), 16), depth, tables, logits, vocab);
        }

        void rates(int rounds) {
            pp = new double[rounds];
            tg = new double[rounds];
        }

        /** Round {@code r}: the prompt, then the decode, each timed. */
        void measure(int r) {
            KernelSettings.apply(settings);
            if (promptTokens > 0) {
                long t0 = System.nanoTime();
                runPrompt(model, cache, prompt, 0, table, logits);
                pp[r] = promptTokens / ((System.nanoTime() - t0) / 1e9);
            }
            if (genTokens > 0) {
                long t0 = System.nanoTime();
                runDecode(model, cache, genTokens, depth, tables, logits, model.vocabSize());
                tg[r] = (double) genTokens * sequences / ((System.nanoTime() - t0) / 1e9);
            }
            Progress.info(String.format("%s%s %d/%d: pp%d %.1f tok/s, tg%d%s %.1f tok/s", label, label.isEmpty() ? "repetition" : "round", r + 1,
                    pp.length, promptTokens, pp[r], genTokens, tgLabel(), tg[r]));
        }

        /** Per repetition, this run's two rounds over {@code base}'s (A B B A: rounds 2r and 2r + 1 of each). */
        double[] ratios(Run base, boolean prompts) {
            double[] x = prompts ? pp : tg, y = prompts ? base.pp : base.tg;
            double[] out = new double[x.length / 2];
            for (int r = 0; r < out.length; r++) {
                out[r] = (x[2 * r] + x[2 * r + 1]) / (y[2 * r] + y[2 * r + 1]);
            }
            return out;
        }

        private long bytesPerToken() {
            ModelSummary summary = model.summary();
            // One sequence reads the LM head's screen where there is one; several take the exact head (ScreenedHead).
            return sequences == 1 ? summary.greedyDecodeBytesPerToken() : summary.decodeBytesPerToken();
        }

        ObjectNode json(ObjectMapper m, Parallel pool) {
            double ppMed = median(pp);
            double tgMed = median(tg);
            ObjectNode o = m.createObjectNode();
            o.put("model", modelOptions.model.toString());
            o.put("architecture", model.config().architecture());
            o.put("threads", pool.threads());
            o.put("prompt_tokens", promptTokens);
            o.put("gen_tokens", genTokens);
            o.put("depth", depth);
            o.put("kv_cache_dtype", modelOptions.kvDtype(model).toString());
            o.put("lm_head_screened", sequences == 1 && model.summary().headScreenBytes() > 0);
            o.put("sequences", sequences);
            o.put("repetitions", reps);
            o.put("pp_tokens_per_second", ppMed);
            o.put("tg_tokens_per_second", tgMed);
            o.put("pp_min", min(pp));
            o.put("pp_max", max(pp));
            o.put("tg_min", min(tg));
            o.put("tg_max", max(tg));
            o.put("decode_bytes_per_token", bytesPerToken());
            o.put("decode_gb_per_second", tgMed / sequences * bytesPerToken() / 1e9); // a batched pass reads the weights once for all its tokens
            KernelSettings.apply(settings);
            o.set("kernel_settings", m.valueToTree(KernelSettings.effective(pool.threads()))); // as this run's rounds took them
            return o;
        }

        void row(Parallel pool, String name) {
            double ppMed = median(pp);
            double tgMed = median(tg);
            System.out.printf("| %s | %d | %.1f (%.1f–%.1f) | %.2f (%.2f–%.2f) | %.0f MB | %.1f GB/s |%n", name, pool.threads(), ppMed, min(pp),
                    max(pp), tgMed, min(tg), max(tg), bytesPerToken() / 1e6, tgMed / sequences * bytesPerToken() / 1e9);
        }

        @Override
        public void close() {
            KernelSettings.apply(Map.of()); // a later run in this process (the tests) meets the defaults
            cache.close();
        }
    }

    /**
     * The prompt, from position {@code from}, in passes of {@code batch} tokens; only the last pass computes logits (of its
     * last token), as serving does.
     */
    private void runPrompt(CausalLM model, PagedKvCache cache, int[] prompt, int from, int[] table, float[] logits) {
        for (int start = 0; start < prompt.length; start += batch) {
            int len = Math.min(batch, prompt.length - start);
            ForwardBatch pass = ForwardBatch.ofSequence(Arrays.copyOfRange(prompt, start, start + len), from + start, table, false);
            if (start + len < prompt.length) {
                pass = new ForwardBatch(pass.tokens(), pass.positions(), pass.tables(), new int[0]);
            }
            model.forward(pass, cache, logits);
        }
    }

    private String tgLabel() {
        return (sequences > 1 ? " x" + sequences : "") + (depth > 0 ? " @ d" + depth : "");
    }

    /**
     * {@code n} greedy tokens for each sequence (its own block table) from position {@code depth}, all sequences in one
     * forward pass per token.
     */
    private static void runDecode(CausalLM model, PagedKvCache cache, int n, int depth, int[][] tables, float[] logits, int vocab) {
        int s = tables.length;
        int[] tokens = new int[s];
        int[] rows = new int[s];
        for (int q = 0; q < s; q++) {
            tokens[q] = 1 + q; // different sequences, as different users' would be
            rows[q] = q;
        }
        for (int i = 0; i < n; i++) {
            int[] positions = new int[s];
            Arrays.fill(positions, depth + i);
            model.forward(new ForwardBatch(tokens.clone(), positions, tables, rows, 1), cache, logits); // greedy: the argmax only
            for (int q = 0; q < s; q++) {
                tokens[q] = org.redhare.engine.Sampler.argmax(logits, q * vocab, vocab);
            }
        }
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double min(double[] x) {
        return Arrays.stream(x).min().orElse(0);
    }

    static double max(double[] x) {
        return Arrays.stream(x).max().orElse(0);
    }
}
