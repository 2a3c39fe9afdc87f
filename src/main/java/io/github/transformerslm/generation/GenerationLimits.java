package io.github.transformerslm.generation;

/**
 * Limits the service puts on any request, from configuration.
 *
 * @param maxNewTokens the most tokens one sequence may ask for
 * @param maxReturnSequences the most sequences one prompt may ask for
 * @param defaultMaxNewTokens used when no layer sets max_new_tokens or max_length
 */
public record GenerationLimits(int maxNewTokens, int maxReturnSequences, int defaultMaxNewTokens) {}
