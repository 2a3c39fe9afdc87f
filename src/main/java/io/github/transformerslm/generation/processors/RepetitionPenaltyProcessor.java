package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/**
 * Makes every token already present (prompt included) less likely: a positive score is divided by the
 * penalty, a negative one multiplied (CTRL paper, as transformers implements it).
 */
public record RepetitionPenaltyProcessor(double penalty) implements LogitsProcessor {
    public RepetitionPenaltyProcessor {
        InvalidParameterException.require(penalty > 0 && !Double.isInfinite(penalty), "repetition_penalty",
                "repetition_penalty must be a strictly positive number, got " + penalty);
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        float penalty = (float) this.penalty;
        int[] tokens = sequence.tokens();
        boolean[] seen = new boolean[scores.length];
        for (int i = 0; i < sequence.length(); i++) {
            int t = tokens[i];
            if (t >= 0 && t < scores.length && !seen[t]) {
                seen[t] = true;
                float s = scores[t];
                scores[t] = s < 0 ? s * penalty : s / penalty;
            }
        }
    }
}
