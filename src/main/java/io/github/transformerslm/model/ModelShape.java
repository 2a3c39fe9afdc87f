package io.github.transformerslm.model;

/**
 * What the rest of the service needs to know of an architecture, whatever its config field names.
 *
 * @param maxPositions the context length ({@code n_positions}, {@code max_position_embeddings})
 * @param slidingWindow how many positions back a query may see, or 0 for no limit (Mistral)
 */
public record ModelShape(String modelType, int vocabSize, int maxPositions, int layers, long parameterCount,
        int slidingWindow) {
    public ModelShape(String modelType, int vocabSize, int maxPositions, int layers, long parameterCount) {
        this(modelType, vocabSize, maxPositions, layers, parameterCount, 0);
    }
}
