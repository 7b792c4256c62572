package org.redhare.engine;

/** A token and its log-probability under the model's raw distribution (log-softmax of the logits, before temperature or penalties). */
public record TokenLogprob(int id, float logprob) {}
