package io.github.transformerslm.generation;

import java.util.SplittableRandom;

/** One sequence to generate: its prompt, its resolved plan and its own random stream. */
public record GenerationRow(int[] prompt, GenerationPlan plan, SplittableRandom random) {}
