package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;

/**
 * One forward step of a batch of sequences.
 *
 * @param inputIds [batch, seq] int64 token ids of this step
 * @param positionIds [batch, seq] int64 position of each token within its own (unpadded) sequence
 * @param attentionMask [batch, 1, seq, past + seq] float32, 0 where a query may attend, a large
 *     negative number where it may not (causality, left padding, sliding window)
 * @param keyPositions [batch, past + seq] float32, the position of every cached key within its own
 *     sequence (what ALiBi biases by; padding columns hold 0 and are masked anyway)
 */
public record ForwardInput(NDArray inputIds, NDArray positionIds, NDArray attentionMask, NDArray keyPositions) {
    public int batchSize() {
        return Math.toIntExact(inputIds.getShape().get(0));
    }

    public int sequenceLength() {
        return Math.toIntExact(inputIds.getShape().get(1));
    }
}
