package org.redhare.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import org.redhare.core.Parallel;
import org.redhare.model.CausalLM;
import org.redhare.model.GenerationDefaults;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Architecture, parameters, dtypes, memory and context of a model.")
final class InfoCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Progress.quiet = json;
        try (Parallel pool = modelOptions.pool(); CausalLM model = modelOptions.load(pool)) { // loading quantizes and screens on every thread
            ModelConfig c = model.config();
            ModelSummary s = model.summary();
            long kvPerToken = model.kvLayout().bytesPerToken(modelOptions.kvDtype(model));
            GenerationDefaults sampling = GenerationDefaults.load(modelOptions.model, Progress::info);
            if (json) {
                ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
                ObjectNode o = m.createObjectNode();
                o.put("architecture", c.architecture());
                o.put("model_type", c.modelType());
                o.put("parameters", s.totalParameters());
                o.put("active_parameters", s.activeParameters());
                o.put("weight_bytes", s.weightBytes());
                ObjectNode d = o.putObject("parameters_by_dtype");
                s.parametersByDtype().forEach(d::put);
                o.put("decode_bytes_per_token", s.decodeBytesPerToken());
                o.put("lm_head_dtype", s.lmHeadDtype().name());
                o.put("lm_head_bytes", s.lmHeadBytes());
                o.put("lm_head_screen_bytes", s.headScreenBytes());
                o.put("lm_head_batch_screen_bytes", s.batchScreenBytes());
                o.put("greedy_decode_bytes_per_token", s.greedyDecodeBytesPerToken());
                o.put("context_length", c.contextLength());
                o.put("hidden_size", c.hiddenSize());
                o.put("layers", c.numLayers());
                o.put("attention_heads", c.numHeads());
                o.put("kv_heads", c.numKvHeads());
                o.put("head_dim", c.headDim());
                if (c.raw().path("kv_lora_rank").isNumber()) { // multi-head latent attention (DeepSeek): what the heads and the cache hold
                    ObjectNode mla = o.putObject("latent_attention");
                    for (String k : new String[] {"q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"}) {
                        mla.set(k, c.raw().path(k).isNumber() ? c.raw().get(k) : com.fasterxml.jackson.databind.node.NullNode.getInstance());
                    }
                }
                o.put("intermediate_size", c.intermediateSize());
                int[] ex = experts(c);
                if (ex != null) {
                    o.put("experts", ex[0]);
                    o.put("experts_per_token", ex[1]);
                    o.put("expert_intermediate_size", ex[2]);
                    o.put("shared_experts", ex[3]);
                }
                o.put("vocab_size", c.vocabSize());
                o.put("tied_embeddings", c.tieWordEmbeddings());
                o.put("kernels", org.redhare.core.matrix.WeightMatrix.kernels());
                o.put("attention_kernels", org.redhare.core.attention.Attention.kernels());
                o.put("kv_cache_dtype", modelOptions.kvDtype(model).toString());
                o.put("kv_bytes_per_token", kvPerToken);
                if (model.kvLayout().window() > 0) {
                    o.put("kv_window_layers", model.kvLayout().windowLayers());
                    o.put("kv_window", model.kvLayout().window());
                    o.put("kv_window_bytes_per_token", model.kvLayout().windowBytesPerToken(modelOptions.kvDtype(model)));
                }
                ObjectNode sd = o.putObject("sampling_defaults");
                sampling.asRequestFields().forEach((k, v) -> sd.putPOJO(k, v));
                System.out.println(m.writeValueAsString(o));
            } else {
                System.out.printf("architecture     %s (%s)%n", c.architecture(), c.modelType());
                System.out.printf("parameters       %,d (%.2f B)%n", s.totalParameters(), s.totalParameters() / 1e9);
                if (s.activeParameters() != s.totalParameters()) {
                    System.out.printf("active/token     %,d (%.2f B; experts not chosen are not read)%n", s.activeParameters(),
                            s.activeParameters() / 1e9);
                }
                System.out.printf("dtypes           %s%n", s.parametersByDtype());
                System.out.printf("weights          %.1f MiB (mapped from disk)%n", s.weightBytes() / 1048576.0);
                System.out.printf("read per token   %.1f MiB (decode reads every matrix once; the LM head %.1f MiB of it, %s)%n",
                        s.decodeBytesPerToken() / 1048576.0, s.lmHeadBytes() / 1048576.0, s.lmHeadDtype());
                if (s.headScreenBytes() > 0) {
                    System.out.printf("greedy/top-k     %.1f MiB a token (the LM head's int8 screen, %.1f MiB, read instead of the head)%n",
                            s.greedyDecodeBytesPerToken() / 1048576.0, s.headScreenBytes() / 1048576.0);
                }
                if (s.batchScreenBytes() > 0) {
                    System.out.printf("batch screen     %.1f MiB (the LM head's int8 copy: several greedy/top-k users decoding at once multiply it"
                            + " in integers instead of widening the %s head)%n", s.batchScreenBytes() / 1048576.0, s.lmHeadDtype());
                }
                var raw = c.raw();
                boolean mla = raw.path("kv_lora_rank").isNumber();
                System.out.printf("layers           %d, hidden %d, heads %d (%s), ffn %d, vocab %d%s%n", c.numLayers(),
                        c.hiddenSize(), c.numHeads(), mla ? "latent attention, below" : "kv " + c.numKvHeads() + ", head dim " + c.headDim(),
                        c.intermediateSize(), c.vocabSize(), c.tieWordEmbeddings() ? ", tied embeddings" : "");
                if (mla) {
                    System.out.printf("attention        multi-head latent: keys %d + %d rotated, values %d a head; %s; cached per token: latent %d"
                            + " + rotated key %d%n", raw.path("qk_nope_head_dim").asInt(), raw.path("qk_rope_head_dim").asInt(),
                            raw.path("v_head_dim").asInt(), raw.path("q_lora_rank").isNumber() ? "queries through a rank-" + raw.get("q_lora_rank").asInt()
                                    + " projection" : "plain query projection", raw.path("kv_lora_rank").asInt(), raw.path("qk_rope_head_dim").asInt());
                }
                int[] ex = experts(c);
                if (ex != null) {
                    System.out.printf("experts          %d a layer, %d chosen a token, each ffn %d%s%n", ex[0], ex[1], ex[2],
                            ex[3] > 0 ? " (+" + ex[3] + " shared)" : "");
                }
                System.out.printf("context          %,d tokens%n", c.contextLength());
                System.out.printf("KV cache         %,d bytes per token (%s); full context %.1f MiB%n", kvPerToken, modelOptions.kvDtype(model),
                        kvPerToken * (double) c.contextLength() / 1048576.0);
                CausalLM.KvLayout kv = model.kvLayout();
                if (kv.window() > 0) {
                    long w = kv.windowBytesPerToken(modelOptions.kvDtype(model));
                    System.out.printf("                 %d sliding-window layers (window %,d keys): %,d of those bytes; the others' full context"
                            + " %.1f MiB%n", kv.windowLayers(), kv.window(), w, (kvPerToken - w) * (double) c.contextLength() / 1048576.0);
                }
                System.out.printf("kernels          %s%n", org.redhare.core.matrix.WeightMatrix.kernels());
                System.out.printf("                 %s%n", org.redhare.core.attention.Attention.kernels());
                System.out.printf("sampling         %s%n", sampling.isEmpty() ? "no recommendation (generation_config.json or GGUF general.sampling.*)"
                        : sampling.describe());
            }
            return 0;
        }
    }

    /**
     * A mixture's experts from config.json as each family names them (Qwen's num_experts, Mixtral's num_local_experts,
     * DeepSeek's and GLM's n_routed_experts): {count, chosen a token, each one's intermediate size, shared experts}, or
     * null for a dense model.
     */
    static int[] experts(org.redhare.model.ModelConfig c) {
        var raw = c.raw();
        int n = raw.path("num_experts").asInt(raw.path("num_local_experts").asInt(raw.path("n_routed_experts").asInt(0)));
        if (n <= 0) {
            return null;
        }
        int size = raw.path("moe_intermediate_size").asInt(c.intermediateSize());
        int shared = raw.path("n_shared_experts").asInt(raw.path("shared_expert_intermediate_size").asInt(0) > 0 ? 1 : 0);
        return new int[] {n, raw.path("num_experts_per_tok").asInt(0), size, shared};
    }
}
