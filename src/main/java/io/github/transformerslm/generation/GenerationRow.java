package io.github.transformerslm.generation;

import java.util.SplittableRandom;

/**
 * One prompt to generate for: its prompt, its resolved plan (which says how many sequences, and
 * whether by sampling or beam search), its random stream, and how many alternatives per token to report.
 */
public record GenerationRow(int[] prompt, GenerationPlan plan, SplittableRandom random, int topLogprobs) {
    public GenerationRow(int[] prompt, GenerationPlan plan, SplittableRandom random) {
        this(prompt, plan, random, 0);
    }

    /** Rows of the batch this prompt occupies. */
    public int rows() {
        return plan.beamSearch() ? plan.numBeams() : plan.numReturnSequences();
    }
}
