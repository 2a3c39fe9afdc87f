package io.github.transformerslm.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.nn.HostCopies;
import io.github.transformerslm.model.nn.PromptAttention;
import io.github.transformerslm.runtime.MatmulPool;

/**
 * Keys and values of every layer, preallocated for {@code capacity} positions and written in place:
 * no per-step concatenation. Lives in its own manager and is closed with the sequence batch.
 */
public final class KvCache implements AttentionCache, AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys; // per layer: [batch, kvHeads, capacity, headDim]
    private final NDArray[] values; // per layer: [batch, kvHeads, capacity, headDim]
    private final int capacity;
    private final MatmulPool pool;
    private int length;
    /** The mask a prompt's layers share, read once per forward pass: [batch, seq, total]. */
    private NDArray promptMask;
    private PromptAttention.Mask promptMaskValues;
    /** The ALiBi bias a prompt's layers share, read once per forward pass. */
    private NDArray promptBias;
    private PromptAttention.Bias promptBiasValues;
    /** A prompt's queries, keys, values and the attention's arrays, reused by its layers. */
    private float[] query = new float[0];
    private float[] key = new float[0];
    private float[] value = new float[0];
    private final PromptAttention.Buffers buffers = new PromptAttention.Buffers();

    public KvCache(NDManager parent, int layers, int batch, int kvHeads, int capacity, int headDim) {
        this(parent, layers, batch, kvHeads, capacity, headDim, MatmulPool.CALLER_ONLY);
    }

    /** {@code pool}: the threads a prompt's attention is computed on. */
    public KvCache(NDManager parent, int layers, int batch, int kvHeads, int capacity, int headDim, MatmulPool pool) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.pool = pool;
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

    /**
     * A prompt written into an empty cache attends in Java ({@link PromptAttention}: no score matrix, the
     * keys a causal mask hides skipped); anything else goes through libtorch.
     */
    @Override
    public NDArray attend(int layer, NDArray q, NDArray k, NDArray v, NDArray mask, float scale, NDArray bias,
            boolean biasBeforeScale) {
        Shape qs = q.getShape();
        int batch = (int) qs.get(0);
        int heads = (int) qs.get(1);
        int seq = (int) qs.get(2);
        int headDim = (int) qs.get(3);
        int kvHeads = (int) k.getShape().get(1);
        if (length != 0 || seq < 2 || (bias != null && bias.size() != (long) batch * heads * seq)
                || !q.getDevice().equals(Device.cpu()) || heads % kvHeads != 0
                || k.getShape().get(2) != seq || mask.size() != (long) batch * seq * seq || !PromptAttention.available()) {
            return AttentionCache.super.attend(layer, q, k, v, mask, scale, bias, biasBeforeScale);
        }
        append(layer, k, v);
        query = HostCopies.read(q, query, batch * heads * seq * headDim);
        key = HostCopies.read(k, key, batch * kvHeads * seq * headDim);
        value = HostCopies.read(v, value, batch * kvHeads * seq * headDim);
        float[] attended = promptInJava(batch, heads, kvHeads, seq, headDim, mask, scale, bias, biasBeforeScale);
        NDArray out = HostCopies.write(q.getManager(), attended, batch * heads * seq * headDim, qs);
        return q.getDataType() == DataType.FLOAT32 ? out : out.toType(q.getDataType(), false);
    }

    /** A prompt's attention over {@link #query}, {@link #key}, {@link #value}: [batch, heads, seq, headDim]. */
    private float[] promptInJava(int batch, int heads, int kvHeads, int seq, int headDim, NDArray mask, float scale,
            NDArray bias, boolean biasBeforeScale) {
        if (mask != promptMask) {
            promptMask = mask;
            promptMaskValues = new PromptAttention.Mask(HostCopies.floats(mask), batch, seq, seq); // [batch, 1, seq, seq]
        }
        if (bias != null && (bias != promptBias || biasBeforeScale != promptBiasValues.beforeScale())) {
            promptBias = bias;
            promptBiasValues = new PromptAttention.Bias(HostCopies.read(bias), batch, heads, seq, biasBeforeScale); // [batch, heads, 1, seq]
        }
        return PromptAttention.attend(query, key, value, promptMaskValues, bias == null ? null : promptBiasValues,
                heads, kvHeads, headDim, scale, pool, buffers);
    }

    /**
     * A prompt into an empty cache with the projections fused (GPT-2's c_attn): the heads are split out of
     * the fused rows, and the keys and values written into the cache's memory, in Java, and the result comes
     * back with its heads merged. The default does the same as eleven libtorch operations (slices, reshapes,
     * transposes, indexed writes into the cache), each a copy of the prompt's activations: at 512 tokens on
     * GPT-2 small they took a third as long as the attention itself.
     */
    @Override
    public NDArray attendPacked(int layer, NDArray qkv, int heads, int headDim, NDArray mask, float scale) {
        Shape shape = qkv.getShape(); // [batch, seq, 3 * hidden]
        int hidden = heads * headDim;
        if (length != 0 || shape.dimension() != 3 || shape.get(1) < 2 || shape.get(2) != 3L * hidden
                || keys[layer].getShape().get(1) != heads || keys[layer].getShape().get(3) != headDim
                || shape.get(1) > capacity || !qkv.getDevice().equals(Device.cpu())
                || mask.size() != shape.get(0) * shape.get(1) * shape.get(1) || !PromptAttention.available()) {
            return AttentionCache.super.attendPacked(layer, qkv, heads, headDim, mask, scale);
        }
        int batch = (int) shape.get(0);
        int seq = (int) shape.get(1);
        java.nio.FloatBuffer keyMemory = HostCopies.memory(keys[layer]);
        java.nio.FloatBuffer valueMemory = HostCopies.memory(values[layer]);
        if (keyMemory == null || valueMemory == null) {
            return AttentionCache.super.attendPacked(layer, qkv, heads, headDim, mask, scale);
        }
        java.nio.FloatBuffer fused = HostCopies.floats(qkv); // [batch, seq, 3 * hidden]
        int size = batch * heads * seq * headDim;
        query = query.length >= size ? query : new float[size];
        key = key.length >= size ? key : new float[size];
        value = value.length >= size ? value : new float[size];
        for (int b = 0; b < batch; b++) {
            for (int s = 0; s < seq; s++) {
                int row = (b * seq + s) * 3 * hidden;
                for (int h = 0; h < heads; h++) {
                    int at = ((b * heads + h) * seq + s) * headDim; // [batch, heads, seq, headDim]
                    fused.get(row + h * headDim, query, at, headDim);
                    fused.get(row + hidden + h * headDim, key, at, headDim);
                    fused.get(row + 2 * hidden + h * headDim, value, at, headDim);
                    int cached = ((b * heads + h) * capacity + s) * headDim; // [batch, heads, capacity, headDim]
                    keyMemory.put(cached, key, at, headDim);
                    valueMemory.put(cached, value, at, headDim);
                }
            }
        }
        float[] attended = promptInJava(batch, heads, heads, seq, headDim, mask, scale, null, false); // [batch, heads, seq, headDim]
        float[] merged = key; // the keys are in the cache now: their array takes the merged heads
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int s = 0; s < seq; s++) {
                    System.arraycopy(attended, ((b * heads + h) * seq + s) * headDim, merged, (b * seq + s) * hidden + h * headDim, headDim);
                }
            }
        }
        NDArray out = HostCopies.write(qkv.getManager(), merged, batch * seq * hidden, new Shape(batch, seq, hidden));
        return qkv.getDataType() == DataType.FLOAT32 ? out : out.toType(qkv.getDataType(), false); // [batch, seq, hidden]
    }

    @Override
    public void advance(int seq) {
        length += seq;
    }

    /** Keys of one row and layer: [kvHeads, columns, headDim] starting at {@code from}. */
    NDArray keys(int layer, int row, int from, int columns) {
        return keys[layer].get(new NDIndex("{}, :, {}:{}, :", row, from, from + columns));
    }

    /** Keys of one layer in their own memory ([batch, kvHeads, capacity, headDim] float32), or null where not viewable. */
    java.nio.FloatBuffer keyMemory(int layer) {
        return HostCopies.memory(keys[layer]);
    }

    /** As {@link #keyMemory}, the values. */
    java.nio.FloatBuffer valueMemory(int layer) {
        return HostCopies.memory(values[layer]);
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
