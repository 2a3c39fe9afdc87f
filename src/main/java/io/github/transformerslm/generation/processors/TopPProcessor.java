package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/**
 * Nucleus filtering: keeps the smallest set of most likely tokens whose probabilities add up to more
 * than {@code top_p}, and at least {@code minTokensToKeep}. Same rule as transformers: sorted
 * ascending, a token is removed when the cumulative probability up to it is at most 1 - top_p.
 */
public final class TopPProcessor implements LogitsProcessor {
    private final double topP;
    private final int minTokensToKeep;

    public TopPProcessor(double topP, int minTokensToKeep) {
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidParameterException("top_p", "top_p must be in (0, 1], got " + topP);
        }
        this.topP = topP;
        this.minTokensToKeep = minTokensToKeep;
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        if (topP >= 1.0) {
            return;
        }
        // Tokens already at -inf (after top-k, most of them) have probability 0 and change nothing.
        int[] order = Scores.argsortAscendingFinite(scores);
        float[] probs = Scores.softmax(scores);
        int n = order.length;
        double cumulative = 0;
        double limit = 1 - topP;
        for (int rank = 0; rank < n - minTokensToKeep; rank++) {
            int token = order[rank];
            cumulative += probs[token];
            if (cumulative <= limit) {
                scores[token] = Float.NEGATIVE_INFINITY;
            } else {
                break;
            }
        }
    }
}
