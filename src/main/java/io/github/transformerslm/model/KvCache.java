package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Keys and values of every layer, preallocated for {@code capacity} positions and written in place:
 * no per-step concatenation. Lives in its own manager and is closed with the sequence batch.
 */
public final class KvCache implements AttentionCache, AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys; // per layer: [batch, kvHeads, capacity, headDim]
    private final NDArray[] values; // per layer: [batch, kvHeads, capacity, headDim]
    private final int capacity;
    private int length;

    public KvCache(NDManager parent, int layers, int batch, int kvHeads, int capacity, int headDim) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        Shape shape = new Shape(batch, kvHeads, capacity, headDim);
        for (int i = 0; i < layers; i++) {
            keys[i] = manager.zeros(shape, DataType.FLOAT32);
            values[i] = manager.zeros(shape, DataType.FLOAT32);
        }
    }

    /** Positions already written (the same for every row: rows are left-padded to a common length). */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Writes this step's keys and values of one layer at the current length and returns views over
     * everything cached so far: ([batch, kvHeads, length + seq, headDim]) × 2.
     */
    @Override
    public NDArray[] append(int layer, NDArray k, NDArray v) {
        long seq = k.getShape().get(2);
        int end = Math.toIntExact(length + seq);
        if (end > capacity) {
            throw new IllegalStateException("KV cache full: " + end + " > " + capacity);
        }
        NDIndex slot = new NDIndex(":, :, {}:{}, :", length, end);
        keys[layer].set(slot, k);
        values[layer].set(slot, v);
        NDIndex filled = new NDIndex(":, :, :{}, :", end);
        return new NDArray[] {keys[layer].get(filled), values[layer].get(filled)};
    }

    @Override
    public void advance(int seq) {
        length += seq;
    }

    /** Keys of one row and layer: [kvHeads, columns, headDim] starting at {@code from}. */
    NDArray keys(int layer, int row, int from, int columns) {
        return keys[layer].get(new NDIndex("{}, :, {}:{}, :", row, from, from + columns));
    }

    NDArray values(int layer, int row, int from, int columns) {
        return values[layer].get(new NDIndex("{}, :, {}:{}, :", row, from, from + columns));
    }

    int layers() {
        return keys.length;
    }

    @Override
    public void close() {
        manager.close();
    }
}
