package io.github.transformerslm.weights;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;

/** One file of a checkpoint: the tensors it holds, and their bytes, little-endian and read-only. */
interface TensorFile extends AutoCloseable {
    Path path();

    Map<String, TensorEntry> tensors();

    ByteBuffer map(TensorEntry entry);

    @Override
    void close();
}
