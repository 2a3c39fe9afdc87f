package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/** Removes tokens less likely than min_p times the most likely one. */
public record MinPProcessor(double minP, int minTokensToKeep) implements LogitsProcessor {
    public MinPProcessor {
        InvalidParameterException.require(minP >= 0 && minP <= 1, "min_p", "min_p must be in [0, 1], got " + minP);
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        float[] probs = Scores.softmax(scores);
        float top = 0;
        for (float p : probs) {
            top = Math.max(top, p);
        }
        double threshold = minP * top;
        boolean[] keep = Scores.topIndices(scores, minTokensToKeep);
        for (int i = 0; i < scores.length; i++) {
            if (probs[i] < threshold && !keep[i]) {
                scores[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }
}
