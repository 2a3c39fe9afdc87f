package io.github.transformerslm.generation;

import java.util.SplittableRandom;

/**
 * One prompt to generate for: its prompt, its resolved plan (which says how many sequences, and
 * whether by sampling or beam search) and its random stream.
 */
public record GenerationRow(int[] prompt, GenerationPlan plan, SplittableRandom random) {}
