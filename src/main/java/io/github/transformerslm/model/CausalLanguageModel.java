package io.github.transformerslm.model;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/** A decoder-only language model with a KV cache, as every architecture package provides one. */
public interface CausalLanguageModel extends AutoCloseable {
    ModelShape shape();

    /** A left-padded cache for {@code batch} rows of up to {@code capacity} positions. */
    default KvCache newCache(NDManager manager, int batch, int capacity) {
        CacheShape s = cacheShape();
        return new KvCache(manager, s.layers(), batch, s.kvHeads(), capacity, s.headDim(), pool());
    }

    /** Layers, key/value heads and head size: what a cache must hold per position. */
    CacheShape cacheShape();

    /** The dtype the weights are served in (activations stay float32); the decode cache follows it. */
    default DataType servingType() {
        return DataType.FLOAT32;
    }

    /**
     * Runs the step, appends its keys and values to {@code cache}, and returns the logits of the last
     * position of every row: [batch, vocab] float32.
     */
    NDArray forward(ForwardInput input, AttentionCache cache);

    /** The threads the model's products and attention split across. */
    default MatmulPool pool() {
        return MatmulPool.CALLER_ONLY;
    }

    /** Per position of the cache: {@code layers} × keys and values of [kvHeads, headDim]. */
    record CacheShape(int layers, int kvHeads, int headDim) {}

    @Override
    void close();
}
