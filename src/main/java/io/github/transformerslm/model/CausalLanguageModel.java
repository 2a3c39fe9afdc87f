package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** A decoder-only language model with a KV cache, as every architecture package provides one. */
public interface CausalLanguageModel extends AutoCloseable {
    ModelShape shape();

    /** A cache for {@code batch} rows of up to {@code capacity} positions. */
    KvCache newCache(NDManager manager, int batch, int capacity);

    /**
     * Runs the step, appends its keys and values to {@code cache}, and returns the logits of the last
     * position of every row: [batch, vocab] float32.
     */
    NDArray forward(ForwardInput input, KvCache cache);

    @Override
    void close();
}
