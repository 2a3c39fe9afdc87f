package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/** Truncation sampling: removes tokens whose probability is below epsilon. */
public record EpsilonCutoffProcessor(double epsilon, int minTokensToKeep) implements LogitsProcessor {
    public EpsilonCutoffProcessor {
        InvalidParameterException.require(epsilon > 0 && epsilon < 1, "epsilon_cutoff",
                "epsilon_cutoff must be in (0, 1), got " + epsilon);
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        float[] probs = Scores.softmax(scores);
        boolean[] keep = Scores.topIndices(scores, minTokensToKeep);
        for (int i = 0; i < scores.length; i++) {
            if (probs[i] < epsilon && !keep[i]) {
                scores[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }
}
