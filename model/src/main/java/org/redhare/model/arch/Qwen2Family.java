package org.redhare.model.arch;

import java.util.List;
import org.redhare.core.Parallel;
import org.redhare.core.ops.Rope;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;

/** Qwen2 / Qwen2.5: biases on q, k and v. */
public final class Qwen2Family implements Architecture {
    @Override
    public List<String> names() {
        return List.of("Qwen2ForCausalLM");
    }

    @Override
    public CausalLM build(ModelConfig c, Checkpoint checkpoint, Parallel pool) {
        return new DenseDecoder(c, checkpoint, new DenseDecoder.Spec(true, false, Rope.Layout.HALF), pool);
    }
}
