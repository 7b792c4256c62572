package org.redhare.model.arch;

import java.util.List;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;

/** Llama 2/3 and Mistral: no biases unless {@code attention_bias}, rotate-half RoPE. */
public final class LlamaFamily implements Architecture {
    @Override
    public List<String> names() {
        return List.of("LlamaForCausalLM", "MistralForCausalLM");
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        return new DenseDecoder(c, checkpoint, new DenseDecoder.Spec(c.attentionBias(), false, Rope.Layout.HALF), pool);
    }
}
