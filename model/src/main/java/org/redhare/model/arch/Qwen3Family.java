package org.redhare.model.arch;

import java.util.List;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;

/** Qwen3: per-head RMSNorm of q and k before RoPE, no biases (unless attention_bias), explicit head_dim. */
public final class Qwen3Family implements Architecture {
    @Override
    public List<String> names() {
        return List.of("Qwen3ForCausalLM");
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        return new DenseDecoder(c, checkpoint, new DenseDecoder.Spec(c.attentionBias(), true, Rope.Layout.HALF), pool);
    }
}
