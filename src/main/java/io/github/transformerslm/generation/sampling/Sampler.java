package io.github.transformerslm.generation.sampling;

import java.util.SplittableRandom;

/** Picks the next token from processed scores. */
public interface Sampler {
    int sample(float[] scores, SplittableRandom random);
}
