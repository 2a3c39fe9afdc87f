package io.github.transformerslm.generation.sampling;

import io.github.transformerslm.generation.processors.Scores;
import java.util.SplittableRandom;

/** Draws a token from softmax(scores); tokens at -inf are never drawn. */
public final class MultinomialSampler implements Sampler {
    @Override
    public int sample(float[] scores, SplittableRandom random) {
        float[] probs = Scores.softmax(scores);
        double r = random.nextDouble();
        double cumulative = 0;
        int lastPossible = -1;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > 0) {
                cumulative += probs[i];
                lastPossible = i;
                if (r < cumulative) {
                    return i;
                }
            }
        }
        // Rounding left the cumulative sum just under r: the last possible token is the answer.
        return lastPossible >= 0 ? lastPossible : Scores.argmax(scores);
    }
}
