package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/** Keeps the k highest scores (ties with the k-th included) and sets the rest to -inf. */
public final class TopKProcessor implements LogitsProcessor {
    private final int k;

    public TopKProcessor(int topK, int minTokensToKeep) {
        if (topK <= 0) {
            throw new InvalidParameterException("top_k", "top_k must be a positive integer, got " + topK);
        }
        this.k = Math.max(topK, minTokensToKeep);
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        if (k >= scores.length) {
            return;
        }
        float threshold = Scores.kthLargest(scores, k);
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] < threshold) {
                scores[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }
}
