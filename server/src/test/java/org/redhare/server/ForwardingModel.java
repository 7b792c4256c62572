package org.redhare.server;

import org.redhare.core.Parallel;
import org.redhare.model.CausalLM;
import org.redhare.model.ModelConfig;
import org.redhare.model.ModelSummary;

/** A test's wrapper of a loaded model: its config, vocabulary, KV layout, pool, summary and close are the wrapped model's. */
public abstract class ForwardingModel implements CausalLM {
    protected final CausalLM model;

    protected ForwardingModel(CausalLM model) {
        this.model = model;
    }

    @Override
    public ModelConfig config() {
        return model.config();
    }

    @Override
    public int vocabSize() {
        return model.vocabSize();
    }

    @Override
    public KvLayout kvLayout() {
        return model.kvLayout();
    }

    @Override
    public Parallel pool() {
        return model.pool();
    }

    @Override
    public ModelSummary summary() {
        return model.summary();
    }

    @Override
    public void close() {
        model.close();
    }
}
