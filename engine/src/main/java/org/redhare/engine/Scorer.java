package org.redhare.engine;

import org.redhare.core.attention.KvDtype;
import org.redhare.core.attention.PagedKvCache;
import org.redhare.model.CausalLM;
import org.redhare.model.ForwardBatch;

/**
 * Teacher-forced scoring of a token sequence: the logits after every prefix, the mean negative
 * log-likelihood of each next token, and the perplexity. Runs the sequence in chunks with a KV cache
 * (so positions keep their context) and hands each logits row to a sink as it is computed, so long
 * sequences never hold all logits in memory. Use it when no {@link Engine} owns the model.
 */
public final class Scorer {
    private Scorer() {}

    /** Receives the logits after consuming tokens {@code 0..position}. */
    @FunctionalInterface
    public interface LogitsSink {
        void accept(int position, float[] logits, int offset, int vocab) throws Exception;
    }

    public record Result(int tokens, double meanNll, double perplexity) {}

    public static Result score(CausalLM model, int[] tokens, int chunk, KvDtype kvDtype, LogitsSink sink) throws Exception {
        int n = tokens.length;
        int max = model.config().contextLength();
        if (n > max) {
            throw new InvalidRequestException("the sequence has " + n + " tokens but the model's context holds " + max
                    + ": score a shorter text");
        }
        if (n < 1) {
            throw new InvalidRequestException("nothing to score: the sequence is empty");
        }
        int vocab = model.vocabSize();
        int blockSize = 16;
        int blocks = (n + blockSize - 1) / blockSize;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = i;
        }
        double nll = 0;
        int count = 0;
        try (PagedKvCache cache = model.kvLayout().allocate(blocks, blockSize, kvDtype)) {
            float[] logits = new float[Math.min(chunk, n) * vocab];
            for (int start = 0; start < n; start += chunk) {
                int len = Math.min(chunk, n - start);
                int[] part = java.util.Arrays.copyOfRange(tokens, start, start + len);
                model.forward(ForwardBatch.ofSequence(part, start, table, true), cache, logits);
                for (int i = 0; i < len; i++) {
                    int pos = start + i;
                    if (sink != null) {
                        sink.accept(pos, logits, i * vocab, vocab);
                    }
                    if (pos + 1 < n) {
                        nll -= logSoftmaxAt(logits, i * vocab, vocab, tokens[pos + 1]);
                        count++;
                    }
                }
            }
        }
        double mean = count == 0 ? 0 : nll / count;
        return new Result(n, mean, Math.exp(mean));
    }

    /** {@code log softmax(x)[target]} computed in double. */
    public static double logSoftmaxAt(float[] x, int off, int len, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < len; i++) {
            sum += Math.exp(x[off + i] - max);
        }
        return x[off + target] - max - Math.log(sum);
    }
}
