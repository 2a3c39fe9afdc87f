package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;

/** Token ids to their embedding vectors: a table of its own, or a language model head's tied weights. */
public interface TokenEmbedding {
    /** ids: [batch, seq] int64 → [batch, seq, hidden] float32. */
    NDArray lookup(NDArray ids);
}
