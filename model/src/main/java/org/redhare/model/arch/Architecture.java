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

    /**
     * The checkpoint as {@link #build} reads it: itself, or (for a multimodal checkpoint whose language model RedHare runs)
     * a view of the language model's tensors under text-only names.
     */
    default Checkpoint textView(ModelConfig config, Checkpoint checkpoint) {
        return checkpoint;
    }
}
