package org.redhare.model.arch;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelLoadException;
import org.redhare.model.layers.Block;
import org.redhare.model.layers.Decoder;
import org.redhare.model.layers.GatedMlp;
import org.redhare.model.layers.MixtureOfExperts;
import org.redhare.model.layers.Router;

/**
 * Llama-style attention with softmax-routed mixtures of experts: Mixtral ({@code block_sparse_moe},
 * experts {@code w1/w3/w2}, always renormalized), Qwen3-MoE and Qwen2-MoE ({@code mlp.experts.E.*_proj},
 * {@code norm_topk_prob}; Qwen2-MoE adds a sigmoid-gated shared expert and q/k/v biases).
 */
public final class MoeFamily implements Architecture {
    @Override
    public List<String> names() {
        return List.of("MixtralForCausalLM", "Qwen3MoeForCausalLM", "Qwen2MoeForCausalLM");
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        var raw = c.raw();
        boolean mixtral = c.architecture().equals("MixtralForCausalLM");
        boolean qwen2 = c.architecture().equals("Qwen2MoeForCausalLM");
        int experts = raw.path(mixtral ? "num_local_experts" : "num_experts").asInt(0);
        int topK = raw.path("num_experts_per_tok").asInt(0);
        if (experts <= 0 || topK <= 0) {
            throw new ModelLoadException(c.architecture() + " config needs " + (mixtral ? "num_local_experts" : "num_experts")
                    + " and num_experts_per_tok");
        }
        boolean normalize = mixtral || raw.path("norm_topk_prob").asBoolean(false);
        int moeInter = mixtral ? c.intermediateSize() : raw.path("moe_intermediate_size").asInt(0);
        int sparseStep = raw.path("decoder_sparse_step").asInt(1);
        Set<Integer> mlpOnly = new HashSet<>();
        raw.path("mlp_only_layers").forEach(n -> mlpOnly.add(n.asInt()));
        Wiring w = new Wiring(c, checkpoint, pool);
        Rope rope = w.rope(c.headDim(), c.ropeInterleaved() ? Rope.Layout.INTERLEAVED : Rope.Layout.HALF);
        Decoder.Layer[] layers = new Decoder.Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            Block attention = w.gqa(p + "self_attn.", qwen2 || c.attentionBias(), !mixtral && !qwen2, rope);
            boolean sparse = !mlpOnly.contains(l) && (l + 1) % Math.max(1, sparseStep) == 0;
            Block ffn;
            if (!sparse) {
                ffn = w.mlp(p + "mlp.", c.intermediateSize());
            } else {
                String m = mixtral ? p + "block_sparse_moe." : p + "mlp.";
                GatedMlp[] ex = w.experts(experts, e -> {
                    String x = m + "experts." + e + ".";
                    return mixtral ? w.mlp(x + "w1", x + "w3", x + "w2", moeInter) : w.mlp(x, moeInter);
                });
                GatedMlp shared = null;
                var sharedGate = (org.redhare.core.matrix.WeightMatrix) null;
                if (qwen2 && w.weights.has(m + "shared_expert.gate_proj.weight")) {
                    shared = w.mlp(m + "shared_expert.", raw.path("shared_expert_intermediate_size").asInt(0));
                    sharedGate = w.matrix(m + "shared_expert_gate.weight", 1, c.hiddenSize());
                }
                Router router = new Router(Router.Scoring.SOFTMAX, experts, topK, normalize, 1f, Router.GroupSelection.NONE, 1, 1, null);
                ffn = new MixtureOfExperts(w.matrix(m + "gate.weight", experts, c.hiddenSize()), router, ex, shared, sharedGate, w.workspace);
            }
            layers[l] = w.layer(l, attention, ffn);
        }
        return w.decoder(layers, w.gqaKv());
    }
}
