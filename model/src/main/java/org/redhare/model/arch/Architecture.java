package org.redhare.model.arch;

import org.redhare.core.Parallel;
import org.redhare.model.CausalLM;
import org.redhare.model.Checkpoint;
import org.redhare.model.ModelConfig;

/** One model family: which {@code architectures} names it answers to and how its tensors are wired. */
public interface Architecture {

    /** Hugging Face class names from config.json's {@code architectures}, e.g. {@code LlamaForCausalLM}. */
    java.util.List<String> names();

    CausalLM build(ModelConfig config, Checkpoint checkpoint, Parallel pool);
}
