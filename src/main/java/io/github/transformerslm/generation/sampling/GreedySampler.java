package io.github.transformerslm.generation.sampling;

import io.github.transformerslm.generation.processors.Scores;
import java.util.SplittableRandom;

/** The most likely token; the first one on ties, as torch.argmax. */
public final class GreedySampler implements Sampler {
    @Override
    public int sample(float[] scores, SplittableRandom random) {
        return Scores.argmax(scores);
    }
}
