package org.redhare.server;

import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;

/**
 * The wrapped model, at least {@code millisPerStep} per forward pass: a test that must act while a request is still
 * generating (stop the server mid-reply, say) then holds whatever the machine's speed, instead of racing a tiny model
 * that can finish 500 tokens in a few milliseconds.
 */
final class PacedModel extends ForwardingModel {
    private final long millisPerStep;

    PacedModel(CausalLM model, long millisPerStep) {
        super(model);
        this.millisPerStep = millisPerStep;
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache cache, float[] logits) {
        pace();
        model.forward(batch, cache, logits);
    }

    @Override
    public void forward(ForwardBatch batch, PagedKvCache cache, float[] logits, float[] states) {
        pace();
        model.forward(batch, cache, logits, states);
    }

    private void pace() {
        try {
            Thread.sleep(millisPerStep);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void exactLogits(float[] logits) {
        model.exactLogits(logits);
    }
}
