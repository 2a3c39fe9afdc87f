package io.github.transformerslm.generation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.generation.processors.Scores;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.KvCache;
import java.util.List;

/**
 * Perplexity of a model over token sequences, as llama.cpp's {@code llama-perplexity} and transformers'
 * perplexity recipe define it: exp of the mean negative log-likelihood of every token after the first of
 * each sequence, given the tokens before it in that sequence. Each sequence is fed one token at a time
 * through the KV cache (the decode path the service runs), so the logits of every position are those that
 * decoding sees.
 */
public final class Perplexity {
    private Perplexity() {}

    /** Sum of negative log-likelihoods (natural log) and the number of tokens scored. */
    public record Result(double negativeLogLikelihood, int tokens) {
        public double perplexity() {
            return Math.exp(negativeLogLikelihood / tokens);
        }
    }

    /**
     * Scores {@code sequences} (each fits the model's context, starts with whatever the model expects first,
     * e.g. BOS, and has at least two tokens).
     */
    public static Result of(CausalLanguageModel model, NDManager parent, List<int[]> sequences) {
        double nll = 0;
        int scored = 0;
        for (int[] ids : sequences) {
            if (ids.length < 2 || ids.length > model.shape().maxPositions()) {
                throw new IllegalArgumentException("a sequence of " + ids.length + " tokens: needs 2 to "
                        + model.shape().maxPositions());
            }
            try (NDManager m = parent.newSubManager(); KvCache cache = model.newCache(m, 1, ids.length)) {
                for (int i = 0; i + 1 < ids.length; i++) {
                    float[] logits;
                    try (NDScope scope = new NDScope()) {
                        float[] zeros = new float[i + 1];
                        float[] keyPositions = new float[i + 1];
                        for (int j = 0; j <= i; j++) {
                            keyPositions[j] = j;
                        }
                        NDArray out = model.forward(new ForwardInput(m.create(new long[] {ids[i]}, new Shape(1, 1)),
                                m.create(new long[] {i}, new Shape(1, 1)), m.create(zeros, new Shape(1, 1, 1, i + 1)),
                                m.create(keyPositions, new Shape(1, i + 1))), cache);
                        logits = out.toFloatArray();
                        scope.suppressNotUsedWarning();
                    }
                    nll += Scores.logSumExp(logits) - logits[ids[i + 1]];
                    scored++;
                }
            }
        }
        return new Result(nll, scored);
    }
}
