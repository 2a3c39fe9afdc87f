package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;

/**
 * Where a model's attention layers keep keys and values between steps. Two layouts implement it: a
 * left-padded batch that advances together ({@link KvCache}, for prefill) and per-row slots of
 * different lengths ({@link SlotKvCache}, for continuous batching).
 */
public interface AttentionCache {
    /**
     * Stores one layer's keys and values of this step ([batch, kvHeads, seq, headDim] each) and returns
     * everything the step may attend to, [batch, kvHeads, total, headDim] × 2.
     */
    NDArray[] append(int layer, NDArray k, NDArray v);

    /** Called by the model once every layer has appended this step's {@code seq} tokens. */
    void advance(int seq);
}
