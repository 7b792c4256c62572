package org.redhare.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.redhare.core.Parallel;
import org.redhare.core.attention.PagedKvCache;
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
 * the decode rate includes attention over a long chat.
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

    @Override
    public Integer call() throws Exception {
        if (promptTokens < 0 || genTokens < 0 || depth < 0 || batch < 1 || reps < 1 || sequences < 1) {
            throw CliException.usage("-p, -n and --depth must be >= 0, --batch, --repetitions and --sequences >= 1");
        }
        try (Parallel pool = modelOptions.pool(); CausalLM model = modelOptions.load(pool)) {
            int ctx = Math.max(promptTokens, depth + genTokens + 1) + 1;
            if (ctx > model.config().contextLength()) {
                throw CliException.usage("-p/-n/--depth need " + ctx + " positions but the model's context is " + model.config().contextLength());
            }
            int blockSize = 16;
            int shared = depth / blockSize; // whole blocks of the context, shared by every sequence
            int own = (depth % blockSize + genTokens + 1 + blockSize - 1) / blockSize; // each sequence's own blocks
            int next = 0;
            int[] table = new int[(Math.max(promptTokens, 1) + blockSize - 1) / blockSize]; // the measured prompt's
            for (int i = 0; i < table.length; i++) {
                table[i] = next++;
            }
            int[] context = new int[shared];
            for (int i = 0; i < shared; i++) {
                context[i] = next++;
            }
            int[][] tables = new int[sequences][];
            for (int q = 0; q < sequences; q++) {
                tables[q] = Arrays.copyOf(context, shared + own);
                for (int i = shared; i < tables[q].length; i++) {
                    tables[q][i] = next++;
                }
            }
            int vocab = model.vocabSize();
            float[] logits = new float[sequences * vocab];
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(42);
            int[] prompt = new int[Math.max(promptTokens, 1)];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = rnd.nextInt(vocab);
            }
            double[] pp = new double[reps];
            double[] tg = new double[reps];
            try (PagedKvCache cache = model.kvLayout().allocate(next, blockSize, modelOptions.kvDtype(model))) {
                if (depth > 0) {
                    Progress.info("context of " + depth + " positions…");
                    int[] chat = new int[depth];
                    for (int i = 0; i < depth; i++) {
                        chat[i] = rnd.nextInt(vocab);
                    }
                    runPrompt(model, cache, Arrays.copyOf(chat, shared * blockSize), 0, tables[0], logits);
                    for (int[] t : tables) { // the part of a block past the shared ones, in each sequence's own block
                        runPrompt(model, cache, Arrays.copyOfRange(chat, shared * blockSize, depth), shared * blockSize, t, logits);
                    }
                }
                Progress.info("warm-up…");
                runPrompt(model, cache, Arrays.copyOf(prompt, Math.min(prompt.length, 64)), 0, table, logits);
                runDecode(model, cache, Math.min(Math.max(genTokens, 1), 16), depth, tables, logits, vocab);
                for (int r = 0; r < reps; r++) {
                    if (promptTokens > 0) {
                        long t0 = System.nanoTime();
                        runPrompt(model, cache, prompt, 0, table, logits);
                        pp[r] = promptTokens / ((System.nanoTime() - t0) / 1e9);
                    }
                    if (genTokens > 0) {
                        long t0 = System.nanoTime();
                        runDecode(model, cache, genTokens, depth, tables, logits, vocab);
                        tg[r] = (double) genTokens * sequences / ((System.nanoTime() - t0) / 1e9);
                    }
                    Progress.info(String.format("repetition %d/%d: pp%d %.1f tok/s, tg%d%s %.1f tok/s", r + 1, reps, promptTokens, pp[r],
                            genTokens, tgLabel(), tg[r]));
                }
            }
            ModelSummary summary = model.summary();
            // One sequence reads the LM head's screen where there is one; several take the exact head (ScreenedHead).
            long bytesPerToken = sequences == 1 ? summary.greedyDecodeBytesPerToken() : summary.decodeBytesPerToken();
            double ppMed = median(pp);
            double tgMed = median(tg);
            double gbps = tgMed / sequences * bytesPerToken / 1e9; // a batched pass reads the weights once for all its tokens
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode o = m.createObjectNode();
                o.put("model", modelOptions.model.toString());
                o.put("architecture", model.config().architecture());
                o.put("threads", pool.threads());
                o.put("prompt_tokens", promptTokens);
                o.put("gen_tokens", genTokens);
                o.put("depth", depth);
                o.put("kv_cache_dtype", modelOptions.kvDtype(model).toString());
                o.put("lm_head_screened", sequences == 1 && summary.headScreenBytes() > 0);
                o.put("sequences", sequences);
                o.put("repetitions", reps);
                o.put("pp_tokens_per_second", ppMed);
                o.put("tg_tokens_per_second", tgMed);
                o.put("pp_min", min(pp));
                o.put("pp_max", max(pp));
                o.put("tg_min", min(tg));
                o.put("tg_max", max(tg));
                o.put("decode_bytes_per_token", bytesPerToken);
                o.put("decode_gb_per_second", gbps);
                System.out.println(m.writeValueAsString(o));
            } else {
                System.out.printf("| model | threads | pp%d tok/s | tg%d%s tok/s | read/token | tg x read |%n", promptTokens, genTokens, tgLabel());
                System.out.printf("| %s | %d | %.1f (%.1f–%.1f) | %.2f (%.2f–%.2f) | %.0f MB | %.1f GB/s |%n", modelOptions.model.getFileName(),
                        pool.threads(), ppMed, min(pp), max(pp), tgMed, min(tg), max(tg), bytesPerToken / 1e6, gbps);
            }
            return 0;
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
