package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/** Row lookup in an embedding table stored in the serving dtype, returned as float32. */
public final class Embeddings {
    private Embeddings() {}

    /** A table of its own: [rows, dim]. */
    public static TokenEmbedding table(NDArray table) {
        return ids -> lookup(table, ids);
    }

    /** table: [rows, dim]; ids: [batch, seq] int64 → [batch, seq, dim] float32. */
    public static NDArray lookup(NDArray table, NDArray ids) {
        long b = ids.getShape().get(0);
        long s = ids.getShape().get(1);
        NDArray rows = table.get(new NDIndex("{}", ids.flatten())); // [batch*seq, dim]
        NDArray shaped = rows.reshape(b, s, table.getShape().get(1));
        return shaped.getDataType() == DataType.FLOAT32 ? shaped : shaped.toType(DataType.FLOAT32, false);
    }
}
