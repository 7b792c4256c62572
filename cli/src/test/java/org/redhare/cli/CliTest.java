package org.redhare.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redhare.core.testing.SharedFiles;

/** The command line end to end: fixtures through generate/perplexity, and clear errors with non-zero exits. */
class CliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode firstCase(Path fixture) throws IOException {
        return JSON.readTree(fixture.resolve("reference/cases.json").toFile()).path("cases").get(0);
    }

    static String ids(JsonNode arr) {
        return IntStream.range(0, arr.size()).mapToObj(i -> arr.get(i).asText()).collect(Collectors.joining(","));
    }

    /** Every command's --help renders cleanly: a stray '%' in a description makes picocli warn and print it raw. */
    @Test
    void everyCommandsHelpRendersWithoutWarnings() {
        var names = Main.commandLine().getSubcommands().keySet();
        assertThat(names).contains("generate", "serve", "synth");
        for (String name : names) {
            CliRunner.Result r = CliRunner.run(name, "--help");
            assertThat(r.exit()).as(name).isZero();
            assertThat(r.err()).as(name).doesNotContain("WARN");
            assertThat(r.out()).as(name).contains("Usage: redhare " + name);
        }
    }

    @Test
    void generateGreedyMatchesReference() throws Exception {
        Path fx = SharedFiles.require("fixtures/qwen2-tiny");
        JsonNode c = firstCase(fx);
        CliRunner.Result r = CliRunner.run("generate", "--model", fx.toString(), "--tokens", ids(c.path("prompt_ids")),
                "--temperature", "0", "--max-tokens", "16", "--ignore-eos", "--json", "--threads", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("tokens").toString()).isEqualTo(c.path("greedy").path("new_tokens").toString());
        assertThat(o.path("finish_reason").asText()).isEqualTo("length");
        assertThat(o.path("timings").path("decode_tokens_per_second").asDouble()).isPositive();
        // drafting from the text's own repeats (prompt lookup) gives the same greedy tokens
        CliRunner.Result d = CliRunner.run("generate", "--model", fx.toString(), "--tokens", ids(c.path("prompt_ids")),
                "--temperature", "0", "--max-tokens", "16", "--ignore-eos", "--json", "--threads", "2", "--draft-tokens", "8");
        assertThat(d.exit()).as(d.err()).isZero();
        JsonNode od = JSON.readTree(d.out());
        assertThat(od.path("tokens").toString()).isEqualTo(c.path("greedy").path("new_tokens").toString());
        assertThat(od.path("timings").has("draft_accepted")).isTrue();
        CliRunner.Result bad = CliRunner.run("generate", "--model", fx.toString(), "--tokens", "5,6", "--draft-tokens", "99");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err()).contains("--draft-tokens must be in [0, 16]");
    }

    @Test
    void perplexityAndLogitsOutMatchReference(@TempDir Path tmp) throws Exception {
        Path fx = SharedFiles.require("fixtures/llama-tiny");
        JsonNode c = firstCase(fx);
        Path out = tmp.resolve("logits.f32");
        // The reference is computed in float32 throughout, so the cache is too (the default, auto, keeps it in BF16 for this model).
        CliRunner.Result r = CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", ids(c.path("prompt_ids")),
                "--logits-out", out.toString(), "--json", "--kv-cache-dtype", "f32");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("perplexity").asDouble()).isCloseTo(c.path("prompt_nll").path("perplexity").asDouble(),
                org.assertj.core.data.Percentage.withPercentage(0.1));
        byte[] got = Files.readAllBytes(out);
        byte[] ref = Files.readAllBytes(fx.resolve("reference").resolve(c.path("logits_file").asText()));
        assertThat(got.length).isEqualTo(ref.length);
        ByteBuffer g = ByteBuffer.wrap(got).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer e = ByteBuffer.wrap(ref).order(ByteOrder.LITTLE_ENDIAN);
        double max = 0;
        while (g.hasRemaining()) {
            max = Math.max(max, Math.abs(g.getFloat() - e.getFloat()));
        }
        assertThat(max).isLessThan(2e-3);
    }

    @Test
    void klAgainstASavedBaseMeasuresAChange(@TempDir Path tmp) throws Exception {
        Path fx = SharedFiles.require("fixtures/qwen3-tiny");
        String ids = ids(JSON.readTree(fx.resolve("reference/cases.json").toFile()).path("cases").get(2).path("prompt_ids"));
        Path base = tmp.resolve("base.rhkl");
        CliRunner.Result r = CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", ids, "--kl-base", base.toString(),
                "--kv-cache-dtype", "f32");
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", ids, "--kl", base.toString(), "--json", "--kv-cache-dtype", "f32");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode same = JSON.readTree(r.out());
        assertThat(same.path("mean_kl").asDouble()).isLessThan(1e-9);
        assertThat(same.path("top1_agreement").asDouble()).isEqualTo(1.0);
        // Not bit-identical: the Vector API's interpreted and JIT-compiled exp differ in the last ulp.
        assertThat(same.path("perplexity_ratio").asDouble()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        r = CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", ids, "--kl", base.toString(), "--json", "--kv-cache-dtype", "bf16");
        JsonNode bf16 = JSON.readTree(r.out());
        assertThat(bf16.path("mean_kl").asDouble()).isGreaterThan(1e-9).isLessThan(1e-2);
        // the default (auto) on this BF16 model is that BF16 cache, and says so
        r = CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", ids, "--kl", base.toString(), "--json");
        assertThat(r.err()).contains("KV cache in bf16 (--kv-cache-dtype auto");
        assertThat(JSON.readTree(r.out()).path("mean_kl").asDouble()).isEqualTo(bf16.path("mean_kl").asDouble());
        // an 8-bit cache: a larger change than bf16's, still small
        r = CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", ids, "--kl", base.toString(), "--json", "--kv-cache-dtype", "q8");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode q8 = JSON.readTree(r.out());
        assertThat(q8.path("mean_kl").asDouble()).isGreaterThan(bf16.path("mean_kl").asDouble()).isLessThan(5e-2);
        // DeepSeek's latent cache has no heads to scale: refused, saying what it takes
        Path ds = SharedFiles.require("fixtures/deepseek-v3-tiny-fp8");
        r = CliRunner.run("perplexity", "--model", ds.toString(), "--tokens", "1,2,3", "--kv-cache-dtype", "q8");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--kv-cache-dtype q8").contains("latent").contains("f32, bf16 or f16");
        r = CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", ids, "--kv-cache-dtype", "f8");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("unknown KV cache dtype 'f8'").doesNotContain("loaded");
        r = CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", "1,2,3", "--kl", base.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("different token sequence");
    }

    /**
     * FP8 made by quantize from each BF16 fixture: KL and top-1 agreement are measured against the BF16 model.
     * These random-weight models have small top-1 margins (logit std 3 over 2048 tokens), so FP8's ~3.6% RMS
     * weight noise flips the top token at 10-30% of prompt positions; the bound here catches a broken
     * quantizer (chance agreement would be ~0.05%), not FP8's inherent cost, which docs/PERFORMANCE.md records.
     */
    @Test
    void quantizedFp8KeepsTop1Agreement(@TempDir Path tmp) throws Exception {
        for (String name : new String[] {"llama-tiny", "qwen2-tiny", "qwen3-tiny", "mixtral-tiny", "qwen3-moe-tiny"}) {
            Path fx = SharedFiles.require("fixtures/" + name);
            Path fp8 = tmp.resolve(name + "-fp8");
            CliRunner.Result r = CliRunner.run("quantize", "--model", fx.toString(), "--to", "fp8", "--out", fp8.toString());
            assertThat(r.exit()).as(r.err()).isZero();
            JsonNode cases = JSON.readTree(fx.resolve("reference/cases.json").toFile()).path("cases");
            int agree = 0;
            int total = 0;
            for (JsonNode c : cases) {
                String ids = ids(c.path("prompt_ids"));
                Path base = tmp.resolve(name + c.path("name").asText() + ".rhkl");
                assertThat(CliRunner.run("perplexity", "--model", fx.toString(), "--tokens", ids, "--kl-base", base.toString()).exit()).isZero();
                r = CliRunner.run("perplexity", "--model", fp8.toString(), "--tokens", ids, "--kl", base.toString(), "--json");
                assertThat(r.exit()).as(r.err()).isZero();
                JsonNode o = JSON.readTree(r.out());
                int n = c.path("prompt_ids").size();
                agree += (int) Math.round(o.path("top1_agreement").asDouble() * n);
                total += n;
                assertThat(o.path("mean_kl").asDouble()).as(name).isGreaterThan(0).isLessThan(0.5);
                System.err.printf("%s %s: mean KL %.4f, top-1 %.4f%n", name, c.path("name").asText(), o.path("mean_kl").asDouble(), o.path("top1_agreement").asDouble());
            }
            assertThat((double) agree / total).as("%s top-1 agreement", name).isGreaterThanOrEqualTo(0.6);
        }
    }

    static Path copyFixture(Path fx, Path to) throws IOException {
        Files.createDirectories(to);
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(fx.resolve(f), to.resolve(f));
        }
        return to;
    }

    @Test
    void truncatedCheckpointIsAClearError(@TempDir Path tmp) throws Exception {
        Path m = copyFixture(SharedFiles.require("fixtures/qwen3-tiny"), tmp.resolve("m"));
        try (FileChannel ch = FileChannel.open(m.resolve("model.safetensors"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        CliRunner.Result r = CliRunner.run("generate", "--model", m.toString(), "--tokens", "1,2,3");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("error:").contains("model.safetensors").contains("truncated");
    }

    @Test
    void wrongShapesAndUnknownArchitectureAreClearErrors(@TempDir Path tmp) throws Exception {
        Path fx = SharedFiles.require("fixtures/qwen3-tiny");
        Path m = copyFixture(fx, tmp.resolve("shape"));
        Files.writeString(m.resolve("config.json"), Files.readString(m.resolve("config.json")).replace("\"intermediate_size\": 320", "\"intermediate_size\": 300"));
        CliRunner.Result r = CliRunner.run("info", "--model", m.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("mlp.gate_proj.weight").contains("[320, 128]").contains("[300, 128]");

        Path u = copyFixture(fx, tmp.resolve("arch"));
        Files.writeString(u.resolve("config.json"), Files.readString(u.resolve("config.json")).replace("Qwen3ForCausalLM", "FancyNewForCausalLM"));
        r = CliRunner.run("info", "--model", u.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("FancyNewForCausalLM").contains("not supported").contains("Qwen3ForCausalLM").contains("LlamaForCausalLM");

        r = CliRunner.run("info", "--model", tmp.resolve("nothing-here").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("does not exist");
    }

    @Test
    void promptLongerThanContextAndBadSamplingAreUsageErrors() throws Exception {
        Path fx = SharedFiles.require("fixtures/llama-tiny");
        CliRunner.Result r = CliRunner.run("generate", "--model", fx.toString(), "--tokens", "5,6,7,8,9,10", "--ctx-size", "4");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("prompt has 6 tokens").contains("context holds 4");

        r = CliRunner.run("generate", "--model", fx.toString(), "--tokens", "5,6", "--temperature", "-1");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("temperature must be >= 0");

        r = CliRunner.run("generate", "--model", fx.toString(), "--tokens", "5,6", "--top-p", "0");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("top-p");

        r = CliRunner.run("generate", "--model", fx.toString(), "--tokens", "5,x");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("'x' is not a token id");

        r = CliRunner.run("generate", "--model", fx.toString(), "--tokens", "5,99999");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("outside the model's vocabulary");
    }

    @Test
    void synthInfoAndBenchRunOnATinyShape(@TempDir Path tmp) {
        Path m = tmp.resolve("tiny");
        CliRunner.Result r = CliRunner.run("synth", "--arch", "qwen3", "--shape", "tiny", "--out", m.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("info", "--model", m.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"architecture\" : \"Qwen3ForCausalLM\"");
        com.fasterxml.jackson.databind.JsonNode info = readJson(r.out());
        assertThat(info.path("lm_head_dtype").asText()).isEqualTo("BF16");
        assertThat(info.path("lm_head_bytes").asLong()).isEqualTo(2L * info.path("vocab_size").asLong() * info.path("hidden_size").asLong())
                .isLessThan(info.path("decode_bytes_per_token").asLong());
        assertThat(info.has("kv_window_layers")).isFalse();
        // Gemma 3's sliding-window layers (all but every sixth): info gives their share of a token's KV bytes.
        Path g = tmp.resolve("gemma");
        r = CliRunner.run("synth", "--arch", "gemma3", "--shape", "tiny", "--out", g.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("info", "--model", g.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode gi = readJson(r.out());
        int layers = gi.path("layers").asInt(gi.path("num_layers").asInt());
        assertThat(gi.path("kv_window").asInt()).isEqualTo(512);
        assertThat(gi.path("kv_window_layers").asInt()).isEqualTo(layers - layers / 6).isPositive();
        assertThat(gi.path("kv_window_bytes_per_token").asLong() * layers)
                .isEqualTo(gi.path("kv_bytes_per_token").asLong() * gi.path("kv_window_layers").asLong());
        r = CliRunner.run("bench", "--model", m.toString(), "-p", "32", "-n", "8", "-r", "1", "--json", "--threads", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("tg_tokens_per_second").contains("\"sequences\":1");
        r = CliRunner.run("bench", "--model", m.toString(), "-p", "0", "-n", "4", "-s", "5", "-r", "1", "--json", "--threads", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode batched = readJson(r.out());
        assertThat(batched.path("sequences").asInt()).isEqualTo(5);
        assertThat(batched.path("kv_cache_dtype").asText()).isEqualTo("bf16"); // auto, on a BF16 synth model
        assertThat(batched.path("tg_tokens_per_second").asDouble()).isPositive();
        // Decode after a context that ends inside a block: three sequences share its whole blocks and hold its last part.
        r = CliRunner.run("bench", "--model", m.toString(), "-p", "0", "-n", "4", "-s", "3", "--depth", "37", "-r", "1", "--json", "--threads", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode deep = readJson(r.out());
        assertThat(deep.path("depth").asInt()).isEqualTo(37);
        assertThat(info.path("kv_cache_dtype").asText()).isEqualTo("bf16");
        assertThat(info.path("kernels").asText()).containsPattern("^\\d+-float vectors; machine code \\(one-token FP8/int8, several-token BF16, FP8, int8, F16 and F32, 4- to 6-bit GGUF types, batched head screen\\) (on|off) \\(.+\\); prefetch (on|off)");
        assertThat(info.path("attention_kernels").asText()).containsPattern("^attention in machine code (on|off) \\(.+\\)$");
        assertThat(deep.path("tg_tokens_per_second").asDouble()).isPositive();
        // The model beside its FP8 copy, in alternated rounds: both rates, and B over A per repetition (the median of them)
        r = CliRunner.run("bench", "--model", m.toString(), "-p", "8", "-n", "4", "-r", "3", "--json", "--threads", "2", "--paired-quantize", "fp8");
        assertThat(r.exit()).as(r.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode pair = readJson(r.out());
        com.fasterxml.jackson.databind.JsonNode fp8 = pair.path("paired");
        assertThat(fp8.path("quantize").asText()).isEqualTo("fp8");
        assertThat(fp8.path("decode_bytes_per_token").asLong()).isLessThan(pair.path("decode_bytes_per_token").asLong());
        assertThat(fp8.path("tg_ratio_per_repetition")).hasSize(3);
        double[] ratios = new double[3];
        for (int i = 0; i < 3; i++) ratios[i] = fp8.path("tg_ratio_per_repetition").get(i).asDouble();
        java.util.Arrays.sort(ratios);
        assertThat(ratios[0]).isPositive();
        assertThat(fp8.path("tg_ratio").asDouble()).isEqualTo(ratios[1]);
        assertThat(r.err()).contains("A: round 1/6").contains("B: round 6/6");
        r = CliRunner.run("bench", "--model", m.toString(), "-p", "0", "-n", "4", "-r", "1", "--json", "--threads", "1", "--paired-quantize", "q8_0");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(readJson(r.out()).path("paired").has("pp_ratio")).isFalse(); // no prompt measured, no prompt ratio
        assertThat(readJson(r.out()).path("paired").path("tg_ratio").asDouble()).isPositive();
        // Another checkpoint as B (an FP8 one against the BF16 original), loaded with the same options, in the same rounds
        Path published = tmp.resolve("tiny-fp8");
        r = CliRunner.run("synth", "--arch", "qwen3", "--shape", "tiny", "--dtype", "fp8", "--out", published.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("bench", "--model", m.toString(), "-p", "8", "-n", "4", "-r", "2", "--json", "--threads", "1",
                "--paired-model", published.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode two = readJson(r.out());
        assertThat(two.path("paired").path("model").asText()).isEqualTo(published.toString());
        assertThat(two.path("paired").has("quantize")).isFalse();
        assertThat(two.path("paired").path("decode_bytes_per_token").asLong()).isLessThan(two.path("decode_bytes_per_token").asLong());
        assertThat(two.path("paired").path("tg_ratio_per_repetition")).hasSize(2);
        assertThat(r.err().split("loaded ", -1)).hasSize(3); // two models
        assertThat(r.err()).contains("loaded tiny-fp8");
        r = CliRunner.run("bench", "--model", m.toString(), "--paired-model", tmp.resolve("nowhere").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--paired-model").contains("does not exist");
        // A kernel setting against the defaults, on the one model loaded once: B's rounds take it, A's the defaults
        r = CliRunner.run("bench", "--model", m.toString(), "--quantize", "fp8", "-p", "8", "-n", "4", "-r", "2", "--json", "--threads", "2",
                "--paired-setting", "fp8RowsAhead=4096");
        assertThat(r.exit()).as(r.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode tuned = readJson(r.out());
        com.fasterxml.jackson.databind.JsonNode b = tuned.path("paired");
        assertThat(b.path("settings").path("fp8RowsAhead").asLong()).isEqualTo(4096);
        assertThat(b.path("kernel_settings").path("fp8RowsAhead").asLong()).isEqualTo(4096);
        assertThat(tuned.path("kernel_settings").path("fp8RowsAhead").asLong()).isNotEqualTo(4096);
        assertThat(b.has("quantize")).isFalse();
        assertThat(b.path("decode_bytes_per_token").asLong()).isEqualTo(tuned.path("decode_bytes_per_token").asLong());
        assertThat(b.path("tg_ratio_per_repetition")).hasSize(2);
        assertThat(r.err()).contains("B: round 4/4");
        assertThat(r.err().split("loaded ", -1)).hasSize(2); // one model, not two
        r = CliRunner.run("bench", "--model", m.toString(), "--paired-setting", "fp8Ahead=1");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("fp8Ahead").contains("rowsAhead, fp8RowsAhead");
        r = CliRunner.run("bench", "--model", m.toString(), "--paired-setting", "fp8RowsAhead=far");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("whole number");
        r = CliRunner.run("bench", "--model", m.toString(), "--paired-quantize", "fp9");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--paired-quantize");
        r = CliRunner.run("bench", "--model", m.toString(), "-s", "0");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--sequences");
        r = CliRunner.run("bench", "--model", m.toString(), "-n", "4", "--depth", "100000000");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--depth need").contains("model's context is");
    }

    @Test
    void synthWritesLoadableFp8DeepseekAndQwen3MoeCheckpoints(@TempDir Path tmp) {
        Path fp8 = tmp.resolve("fp8");
        CliRunner.Result r = CliRunner.run("synth", "--arch", "qwen3", "--shape", "tiny", "--dtype", "fp8", "--out", fp8.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("generate", "--model", fp8.toString(), "--tokens", "1,2,3", "-n", "4", "--json", "--ignore-eos", "--temperature", "0");
        assertThat(r.exit()).as(r.err()).isZero();
        // as published, the LM head stays in BF16: the load says what it costs, that greedy tokens read its int8 screen
        // instead, and which option changes it
        assertThat(r.err()).contains("LM head screened for greedy and top-k sampling")
                .containsPattern("keeps its LM head in BF16, as published: [\\d.]+ of the [\\d.]+ MB each decoded token reads \\(\\d+%;"
                        + " greedy and top-k tokens read its screen instead, [\\d.]+ MB in all\\); --quantize fp8 stores it in FP8 too");
        String screened = readJson(r.out()).path("tokens").toString();
        r = CliRunner.run("generate", "--model", fp8.toString(), "--tokens", "1,2,3", "-n", "4", "--json", "--ignore-eos", "--temperature", "0",
                "--head-screen", "off");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).doesNotContain("screen").containsPattern("each decoded token reads \\(\\d+%\\); --quantize fp8");
        assertThat(readJson(r.out()).path("tokens").toString()).as("the same tokens without the screen").isEqualTo(screened);
        r = CliRunner.run("generate", "--model", fp8.toString(), "--tokens", "1,2,3", "-n", "4", "--json", "--ignore-eos", "--quantize", "fp8");
        assertThat(r.exit()).as(r.err()).isZero();
        // the head in FP8 now: nothing said of its BF16 bytes, and one sequence without drafting builds no screen of it (only
        // batches would read one); with drafted tokens, steps of several tokens come, and where batches screen in integers
        // (VNNI) its copy serves them
        assertThat(r.err()).doesNotContain("keeps its LM head").doesNotContain("LM head screened");
        r = CliRunner.run("generate", "--model", fp8.toString(), "--tokens", "1,2,3", "-n", "4", "--json", "--ignore-eos", "--quantize", "fp8",
                "--draft-tokens", "4");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).doesNotContain("keeps its LM head").doesNotContain("LM head screened for greedy");
        boolean batchScreen = r.err().contains("LM head screened for batches of greedy and top-k users");
        r = CliRunner.run("info", "--model", fp8.toString(), "--json", "--quantize", "fp8");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode info = readJson(r.out());
        assertThat(info.path("lm_head_dtype").asText()).isEqualTo("F8_E4M3");
        assertThat(info.path("lm_head_screen_bytes").asLong()).as("one token reads the FP8 head").isZero();
        assertThat(info.path("greedy_decode_bytes_per_token").asLong()).isEqualTo(info.path("decode_bytes_per_token").asLong());
        if (batchScreen) {
            assertThat(info.path("lm_head_batch_screen_bytes").asLong()).isBetween(info.path("lm_head_bytes").asLong(),
                    info.path("lm_head_bytes").asLong() * 5 / 4); // the codes, and a scale and a bound a row
        } else {
            assertThat(info.path("lm_head_batch_screen_bytes").asLong()).isZero();
        }
        Path ds = tmp.resolve("ds");
        r = CliRunner.run("synth", "--arch", "deepseek-v3", "--shape", "deepseek-v3-tiny", "--dtype", "fp8", "--out", ds.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("info", "--model", ds.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("DeepseekV3ForCausalLM").contains("F8_E4M3");
        assertThat(readJson(r.out()).path("latent_attention").path("kv_lora_rank").asInt()).isEqualTo(32);
        assertThat(readJson(r.out()).path("latent_attention").path("q_lora_rank").asInt()).isEqualTo(48);
        r = CliRunner.run("generate", "--model", ds.toString(), "--tokens", "1,2,3", "-n", "4", "--json", "--ignore-eos");
        assertThat(r.exit()).as(r.err()).isZero();
        Path dsGguf = tmp.resolve("ds.gguf");
        r = CliRunner.run("synth", "--arch", "deepseek-v3", "--shape", "deepseek-v3-tiny", "--dtype", "q8_0", "--out", dsGguf.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("info", "--model", dsGguf.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("DeepseekV3ForCausalLM").contains("Q8_0");
        r = CliRunner.run("generate", "--model", dsGguf.toString(), "--tokens", "1,2,3", "-n", "4", "--json", "--ignore-eos");
        assertThat(r.exit()).as(r.err()).isZero();
        // Qwen3-MoE: as safetensors, and straight to a quantized GGUF; both run, the same tokens from the same seed's weights
        // quantized the same way
        Path moe = tmp.resolve("moe");
        r = CliRunner.run("synth", "--arch", "qwen3-moe", "--shape", "qwen3-moe-tiny", "--out", moe.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("info", "--model", moe.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode moeInfo = readJson(r.out());
        assertThat(moeInfo.path("architecture").asText()).isEqualTo("Qwen3MoeForCausalLM");
        assertThat(moeInfo.path("experts").asInt()).isEqualTo(8);
        assertThat(moeInfo.path("experts_per_token").asInt()).isEqualTo(2);
        assertThat(moeInfo.path("expert_intermediate_size").asInt()).isEqualTo(32);
        r = CliRunner.run("info", "--model", moe.toString());
        assertThat(r.out()).contains("experts          8 a layer, 2 chosen a token, each ffn 32");
        Path moeGguf = tmp.resolve("moe.gguf");
        r = CliRunner.run("synth", "--arch", "qwen3-moe", "--shape", "qwen3-moe-tiny", "--dtype", "q8_0", "--out", moeGguf.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        String[] gen = {"--tokens", "1,2,3", "-n", "4", "--json", "--ignore-eos", "--temperature", "0"};
        r = CliRunner.run(concat("generate", "--model", moeGguf.toString(), gen));
        assertThat(r.exit()).as(r.err()).isZero();
        String fromGguf = readJson(r.out()).path("tokens").toString();
        r = CliRunner.run(concat("generate", "--model", moe.toString(), gen, "--quantize", "q8_0"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(readJson(r.out()).path("tokens").toString()).isEqualTo(fromGguf);
    }

    @Test
    void tokenizeMatchesTheHuggingFaceGoldens() throws Exception {
        Path qwen3 = SharedFiles.require("tokenizers/qwen3");
        Path expected = SharedFiles.require("conformance/tokenizers/expected/qwen3.jsonl");
        int checked = 0;
        for (String line : Files.readAllLines(expected)) {
            JsonNode c = JSON.readTree(line);
            String text = c.path("text").asText();
            if (text.isEmpty() || text.startsWith("-") || checked >= 12) {
                continue; // picocli would read a leading '-' as an option; the text module's tests cover every case
            }
            CliRunner.Result r = CliRunner.run("tokenize", "--model", qwen3.toString(), "--text", text, "--special");
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out().strip()).as(text).isEqualTo("[" + ids(c.path("ids")) + "]");
            r = CliRunner.run("tokenize", "--model", qwen3.toString(), "--text", text);
            assertThat(r.out().strip()).as(text).isEqualTo("[" + ids(c.path("ids_split_special_tokens")) + "]");
            checked++;
        }
        assertThat(checked).isEqualTo(12);
        CliRunner.Result r = CliRunner.run("tokenize", "--model", SharedFiles.require("models/stories260K.gguf").toString(),
                "--text", "Once upon a time", "--add-special-tokens");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith("[1,");
        r = CliRunner.run("tokenize", "--model", SharedFiles.require("fixtures/qwen2-tiny").toString(), "--text", "hi");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("no tokenizer.json");
    }

    @Test
    void templateRendersConformanceCasesByteForByte(@TempDir Path tmp) throws Exception {
        Path root = SharedFiles.require("conformance/chat-templates");
        JsonNode manifest = JSON.readTree(root.resolve("manifest.json").toFile());
        JsonNode conversations = JSON.readTree(root.resolve("conversations.json").toFile()).path("conversations");
        int checked = 0;
        java.util.Set<String> templates = new java.util.HashSet<>();
        for (JsonNode c : manifest.path("cases")) {
            // one text case from each of eight templates: the text module's tests cover every case
            if (!c.path("expect").asText().equals("text") || checked >= 8 || !templates.add(c.path("template").asText())) {
                continue;
            }
            JsonNode conv = null;
            for (JsonNode x : conversations) {
                if (x.path("id").asText().equals(c.path("conversation").asText())) conv = x;
            }
            Path msgs = tmp.resolve("m" + checked + ".json");
            JSON.writeValue(msgs.toFile(), conv.path("messages"));
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("template", "--template",
                    root.resolve(c.path("template_file").asText()).toString(), "--messages", msgs.toString()));
            var vars = c.path("variables").fields();
            while (vars.hasNext()) {
                var v = vars.next();
                if (v.getKey().equals("add_generation_prompt")) {
                    if (!v.getValue().asBoolean()) args.add("--no-generation-prompt");
                } else if (v.getKey().equals("tools")) {
                    if (!v.getValue().isNull()) {
                        Path tools = tmp.resolve("t" + checked + ".json");
                        JSON.writeValue(tools.toFile(), v.getValue());
                        args.add("--tools");
                        args.add(tools.toString());
                    }
                } else {
                    args.add("--var");
                    args.add(v.getKey() + "=" + JSON.writeValueAsString(v.getValue()));
                }
            }
            CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).as(c.path("expected_file").asText()).isEqualTo(Files.readString(root.resolve(c.path("expected_file").asText())));
            checked++;
        }
        assertThat(checked).isEqualTo(8);
    }

    @Test
    void chatStreamsTextFromAModelWithARealTokenizer(@TempDir Path tmp) throws Exception {
        Path m = tinyQwen3WithTokenizer(tmp.resolve("chat"));
        CliRunner.Result r;
        java.io.InputStream oldIn = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("Hello there!\n/reset\nAgain\n/exit\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            r = CliRunner.run("chat", "--model", m.toString(), "-n", "12", "--seed", "1", "--temperature", "0.8");
        } finally {
            System.setIn(oldIn);
        }
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("chatting with").contains("(new conversation)");
        assertThat(r.err()).contains("tokens,");
        // the reply is text decoded by the tokenizer, not token ids
        String reply = r.out().substring(r.out().indexOf("> ") + 2, r.out().indexOf("(new conversation)")).strip();
        assertThat(reply).isNotEmpty().doesNotMatch("[0-9,]+");
        r = CliRunner.run("generate", "--model", m.toString(), "--prompt", "Hi", "--chat", "-n", "5", "--json", "--ignore-eos");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("prompt_tokens").get(0).asInt()).isEqualTo(151644); // <|im_start|>
        assertThat(o.path("tokens").size()).isEqualTo(5);
        assertThat(o.path("text").isTextual()).isTrue();
        assertThat(o.has("content")).isTrue();
    }

    /**
     * {@code quantize --to gguf} writes one file with the weights, the tokenizer and the chat template: a chat prompt
     * through it tokenizes and generates exactly as through the Hugging Face folder; a folder without tokenizer.json
     * still converts, with a note, to a file that runs from token ids.
     */
    @Test
    void ggufExportCarriesTheTokenizerAndChatTemplate(@TempDir Path tmp) throws Exception {
        Path m = tinyQwen3WithTokenizer(tmp.resolve("folder"));
        CliRunner.Result r;
        Path gguf = tmp.resolve("model.gguf");
        r = CliRunner.run("quantize", "--model", m.toString(), "--to", "gguf", "--out", gguf.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        String[] gen = {"--prompt", "Hello, who are you?", "--chat", "-n", "6", "--json", "--ignore-eos", "--temperature", "0"};
        JsonNode fromFolder = JSON.readTree(CliRunner.run(concat("generate", "--model", m.toString(), gen)).out());
        CliRunner.Result viaGguf = CliRunner.run(concat("generate", "--model", gguf.toString(), gen));
        assertThat(viaGguf.exit()).as(viaGguf.err()).isZero();
        JsonNode fromGguf = JSON.readTree(viaGguf.out());
        assertThat(fromGguf.path("prompt_tokens")).isEqualTo(fromFolder.path("prompt_tokens"));
        assertThat(fromGguf.path("prompt_tokens").get(0).asInt()).isEqualTo(151644); // the template's <|im_start|>
        assertThat(fromGguf.path("tokens")).isEqualTo(fromFolder.path("tokens"));
        assertThat(fromGguf.path("text")).isEqualTo(fromFolder.path("text"));

        Path bare = SharedFiles.require("fixtures/qwen3-tiny");
        Path bareGguf = tmp.resolve("bare.gguf");
        r = CliRunner.run("quantize", "--model", bare.toString(), "--to", "q8_0", "--out", bareGguf.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("no tokenizer.json").contains("no vocabulary");
        r = CliRunner.run("generate", "--model", bareGguf.toString(), "--tokens", "1,2,3", "-n", "3", "--ignore-eos", "--json");
        assertThat(r.exit()).as(r.err()).isZero();

        Path moe = tmp.resolve("moe.gguf");
        r = CliRunner.run("quantize", "--model", SharedFiles.require("fixtures/mixtral-tiny").toString(), "--to", "q4_0", "--out", moe.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("generate", "--model", moe.toString(), "--tokens", "1,2,3", "-n", "3", "--ignore-eos", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        // FP8 checkpoints convert too (widened with their scales, then quantized): DeepSeek-V3's latent attention and
        // experts as llama.cpp's deepseek2, and Qwen3-FP8. Each runs, greedy, the tokens of its safetensors (Q8_0 on these
        // fixtures changes no greedy choice; FixtureTest checks the float conversion's logits)
        for (String fixture : new String[] {"deepseek-v3-tiny-fp8", "qwen3-tiny-fp8"}) {
            Path fp8 = SharedFiles.require("fixtures/" + fixture);
            Path q8 = tmp.resolve(fixture + ".gguf");
            r = CliRunner.run("quantize", "--model", fp8.toString(), "--to", "q8_0", "--out", q8.toString());
            assertThat(r.exit()).as(r.err()).isZero();
            String[] greedy = {"--tokens", "816,793,1770,1125,299,402,1650", "-n", "8", "--ignore-eos", "--json", "--temperature", "0"};
            r = CliRunner.run(concat("generate", "--model", q8.toString(), greedy));
            assertThat(r.exit()).as(r.err()).isZero();
            CliRunner.Result original = CliRunner.run(concat("generate", "--model", fp8.toString(), greedy));
            assertThat(original.exit()).as(original.err()).isZero();
            assertThat(readJson(r.out()).path("tokens")).as(fixture).isEqualTo(readJson(original.out()).path("tokens"));
        }
    }

    /**
     * Sampling options left out take the model's generation_config.json (top_k 1 here: every draw is the argmax),
     * options given win, and a GGUF written by quantize carries the recommendation on as general.sampling.* metadata.
     */
    @Test
    void samplingDefaultsComeFromTheModel(@TempDir Path tmp) throws Exception {
        Path plain = tmp.resolve("plain");
        CliRunner.Result r = CliRunner.run("synth", "--arch", "qwen3", "--shape", "tiny", "--out", plain.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Path m = Files.createDirectories(tmp.resolve("recommending"));
        try (var files = Files.list(plain)) {
            for (Path f : files.toList()) {
                Files.createSymbolicLink(m.resolve(f.getFileName()), f);
            }
        }
        Files.writeString(m.resolve("generation_config.json"), "{\"do_sample\": true, \"temperature\": 0.9, \"top_k\": 1}");
        String[] gen = {"--tokens", "1,2,3", "-n", "8", "--json", "--ignore-eos"};
        JsonNode greedy = JSON.readTree(CliRunner.run(concat("generate", "--model", plain.toString(), gen, "--temperature", "0")).out());
        r = CliRunner.run(concat("generate", "--model", m.toString(), gen));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("the model recommends temperature 0.9, top_k 1 (generation_config.json)");
        assertThat(JSON.readTree(r.out()).path("tokens")).isEqualTo(greedy.path("tokens"));

        String[] sampled = {"--temperature", "0.9", "--top-k", "0", "--seed", "5"};
        JsonNode expected = JSON.readTree(CliRunner.run(concat("generate", "--model", plain.toString(), gen, sampled)).out());
        assertThat(expected.path("tokens")).as("seed 5 draws other tokens than the argmax").isNotEqualTo(greedy.path("tokens"));
        r = CliRunner.run(concat("generate", "--model", m.toString(), gen, sampled));
        assertThat(JSON.readTree(r.out()).path("tokens")).isEqualTo(expected.path("tokens"));

        Path gguf = tmp.resolve("m.gguf");
        r = CliRunner.run("quantize", "--model", m.toString(), "--to", "q8_0", "--out", gguf.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        r = CliRunner.run("info", "--model", gguf.toString(), "--json");
        assertThat(JSON.readTree(r.out()).path("sampling_defaults")).isEqualTo(JSON.readTree("{\"temperature\":0.9,\"top_k\":1}"));
        JsonNode ggufGreedy = JSON.readTree(CliRunner.run(concat("generate", "--model", gguf.toString(), gen, "--temperature", "0")).out());
        r = CliRunner.run(concat("generate", "--model", gguf.toString(), gen));
        assertThat(r.err()).contains("temperature 0.9, top_k 1 (GGUF metadata)");
        assertThat(JSON.readTree(r.out()).path("tokens")).isEqualTo(ggufGreedy.path("tokens"));
        r = CliRunner.run("info", "--model", plain.toString());
        assertThat(r.out()).contains("sampling         no recommendation");
    }

    /** {@code --json-schema}: the output of a random-weight model is JSON of the schema's shape; bad schemas fail at once. */
    @Test
    void jsonSchemaConstrainsTheOutput(@TempDir Path tmp) throws Exception {
        Path m = tinyQwen3WithTokenizer(tmp.resolve("m"));
        Path schema = Files.writeString(tmp.resolve("s.json"), "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"},"
                + "\"n\":{\"type\":\"integer\"}},\"required\":[\"ok\",\"n\"],\"additionalProperties\":false}");
        CliRunner.Result r = CliRunner.run("generate", "--model", m.toString(), "--prompt", "Reply in JSON", "--chat", "--json-schema",
                schema.toString(), "-n", "200", "--json", "--seed", "3");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("finish_reason").asText()).isEqualTo("stop");
        JsonNode v = JSON.readTree(o.path("text").asText());
        assertThat(v.path("ok").isBoolean()).isTrue();
        assertThat(v.path("n").isIntegralNumber()).isTrue();
        r = CliRunner.run("generate", "--model", m.toString(), "--prompt", "x", "--json-schema", "object", "-n", "300", "--json", "--seed", "4");
        JsonNode any = JSON.readTree(r.out());
        if (any.path("finish_reason").asText().equals("stop")) {
            assertThat(JSON.readTree(any.path("text").asText()).isObject()).isTrue();
        }
        assertThat(any.path("text").asText()).startsWith("{");
        Files.writeString(schema, "{\"type\":\"string\"}");
        r = CliRunner.run("generate", "--model", m.toString(), "--prompt", "x", "--json-schema", schema.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--json-schema").contains("root must be an object or an array");
    }

    /** A tiny synthetic Qwen3 model with the real Qwen3 tokenizer and chat template, written to {@code dir}. */
    private static Path tinyQwen3WithTokenizer(Path dir) {
        CliRunner.Result r = CliRunner.run("synth", "--arch", "qwen3", "--shape", "tiny", "--out", dir.toString(),
                "--tokenizer", SharedFiles.require("tokenizers/qwen3").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        return dir;
    }

    private static String[] concat(String a, String b, String c, String[] rest, String... more) {
        return concat(a, b, c, java.util.stream.Stream.concat(java.util.Arrays.stream(rest), java.util.Arrays.stream(more)).toArray(String[]::new));
    }

    private static String[] concat(String a, String b, String c, String[] rest) {
        String[] out = new String[rest.length + 3];
        out[0] = a;
        out[1] = b;
        out[2] = c;
        System.arraycopy(rest, 0, out, 3, rest.length);
        return out;
    }

    private static com.fasterxml.jackson.databind.JsonNode readJson(String s) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(s);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + s, e);
        }
    }
}
