package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/**
 * Nucleus filtering: keeps the smallest set of most likely tokens whose probabilities add up to more
 * than {@code top_p}, and at least {@code minTokensToKeep}. Same rule as transformers: sorted
 * ascending, a token is removed when the cumulative probability up to it is at most 1 - top_p.
 */
public record TopPProcessor(double topP, int minTokensToKeep) implements LogitsProcessor {
    public TopPProcessor {
        InvalidParameterException.require(topP > 0 && topP <= 1, "top_p", "top_p must be in (0, 1], got " + topP);
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        if (topP >= 1.0) {
            return;
        }
        float[] probs = Scores.softmax(scores);
        double limit = 1 - topP;
        // Tokens less likely than limit / (2 · vocabulary) weigh under the limit even all together, and
        // they are the least likely: the rule removes each of them, so only the others are sorted (the
        // nucleus and the top of the tail: a small part of a peaked distribution, most of a flat one, where
        // the whole vocabulary had been sorted). Not where min_tokens_to_keep could
        // reach down among them.
        double floor = limit / (2.0 * scores.length);
        int finite = 0;
        int above = 0;
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] != Float.NEGATIVE_INFINITY) {
                finite++;
                above += probs[i] >= floor ? 1 : 0;
            }
        }
        if (above < minTokensToKeep) {
            floor = 0;
        }
        double cumulative = 0; // of the tokens removed so far: those below the floor first
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] != Float.NEGATIVE_INFINITY && probs[i] < floor) {
                cumulative += probs[i];
                scores[i] = Float.NEGATIVE_INFINITY;
            }
        }
        int[] order = Scores.argsortAscending(scores, probs, floor); // what is left, least likely first
        int removed = finite - order.length;
        for (int rank = 0; removed + rank < finite - minTokensToKeep; rank++) {
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
