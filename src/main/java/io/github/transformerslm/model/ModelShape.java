package io.github.transformerslm.model;

/**
 * What the rest of the service needs to know of an architecture, whatever its config field names.
 *
 * @param maxPositions the context length ({@code n_positions}, {@code max_position_embeddings})
 */
public record ModelShape(String modelType, int vocabSize, int maxPositions, int layers, long parameterCount) {}
