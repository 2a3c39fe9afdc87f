package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/**
 * Locally typical sampling: keeps the tokens whose surprise is closest to the distribution's entropy,
 * up to a probability mass of typical_p (transformers' TypicalLogitsWarper).
 */
public record TypicalProcessor(double mass, int minTokensToKeep) implements LogitsProcessor {
    public TypicalProcessor {
        InvalidParameterException.require(mass > 0 && mass < 1, "typical_p",
                "typical_p must be in (0, 1), got " + mass);
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        int n = scores.length;
        float[] probs = Scores.softmax(scores);
        double entropy = 0;
        double[] logp = new double[n];
        for (int i = 0; i < n; i++) {
            logp[i] = probs[i] > 0 ? Math.log(probs[i]) : Double.NEGATIVE_INFINITY;
            if (probs[i] > 0) {
                entropy -= logp[i] * probs[i];
            }
        }
        float[] shifted = new float[n];
        for (int i = 0; i < n; i++) {
            shifted[i] = (float) Math.abs(-logp[i] - entropy);
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Float.compare(shifted[a], shifted[b]));
        double cumulative = 0;
        int lastIndex = 0;
        for (int r = 0; r < n; r++) {
            cumulative += probs[order[r]];
            if (cumulative < mass) {
                lastIndex = r + 1;
            }
        }
        lastIndex = Math.min(lastIndex, n - 1);
        float cutoff = shifted[order[lastIndex]];
        for (int r = 0; r < n; r++) {
            int token = order[r];
            if (shifted[token] > cutoff && r >= minTokensToKeep) {
                scores[token] = Float.NEGATIVE_INFINITY;
            }
        }
    }
}
