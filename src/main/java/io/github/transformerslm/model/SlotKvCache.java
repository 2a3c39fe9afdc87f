package io.github.transformerslm.model;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.nn.DecodeAttention;
import io.github.transformerslm.model.nn.Float16Bits;
import io.github.transformerslm.model.nn.HostCopies;
import io.github.transformerslm.model.nn.Linear;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Arrays;

/**
 * The continuous-batching cache: one slot (row) per running sequence, each with its own length, so that
 * sequences join and leave between any two decode steps. Rows 0..active-1 are in use, in the order of
 * the scheduler's sequences; each row's keys start at column 0, so column = position. Columns grow on
 * demand (doubling), rows are fixed at the batch limit.
 */
public final class SlotKvCache implements AttentionCache, AutoCloseable {
    private final NDManager manager;
    private final int rows;
    private final int kvHeads;
    private final int headDim;
    private final NDArray[] keys; // per layer: [rows, kvHeads, columns, headDim]
    private final NDArray[] values;
    /**
     * Per layer, the native memory of keys and values, where decode steps attend without libtorch
     * ({@link DecodeAttention}); null where they cannot (no vector kernels, or not in CPU memory).
     */
    private final ByteBuffer[] keyMemory;
    private final ByteBuffer[] valueMemory;
    private NDArray stepMask; // the last mask and bias read, and their values: every layer of a step shares them
    private float[] stepMaskValues;
    private NDArray stepBias;
    private float[] stepBiasValues;
    // A decode step's q, k, v (and GPT-2's fused projection) and its attention's output, refilled by every
    // layer: fresh arrays per layer were about half of what a GPT-2 decode step allocated (allocation profile).
    private float[] packedScratch = new float[0];
    private float[] queryScratch = new float[0];
    private float[] keyScratch = new float[0];
    private float[] valueScratch = new float[0];
    private float[] attendedScratch = new float[0];
    private final DataType storage; // FLOAT32, or FLOAT16 (only where decode attends in Java)
    private final int initialColumns;
    private int columns;
    private int active;
    private int[] lengths;
    private final MatmulPool pool; // the threads attention in Java splits across
    private int stepColumns; // columns the running step attends to

    /** A float32 cache: what a float32 model, and anything that attends through libtorch, keeps. */
    public SlotKvCache(NDManager parent, CausalLanguageModel.CacheShape shape, int rows, int initialColumns) {
        this(parent, shape, rows, initialColumns, DataType.FLOAT32, MatmulPool.CALLER_ONLY);
    }

    /**
     * A cache for a model served in {@code servingType}. A float16 model's keys and values are kept in
     * float16 where decode steps attend in Java, as Hugging Face keeps them in the model's dtype: half the
     * memory, and half the bytes each decode step reads (at batch 8 and a few hundred positions, more than
     * the layer's weights). Elsewhere they stay float32. Attention in Java splits across {@code pool}.
     */
    public SlotKvCache(NDManager parent, CausalLanguageModel.CacheShape shape, int rows, int initialColumns,
            DataType servingType, MatmulPool pool) {
        this.manager = parent.newSubManager();
        this.pool = pool;
        this.rows = rows;
        this.kvHeads = shape.kvHeads();
        this.headDim = shape.headDim();
        this.keys = new NDArray[shape.layers()];
        this.values = new NDArray[shape.layers()];
        this.initialColumns = Math.max(16, initialColumns);
        this.columns = this.initialColumns;
        this.lengths = new int[rows];
        boolean inJava = Linear.vectorKernels() && manager.getDevice().equals(ai.djl.Device.cpu());
        this.storage = inJava && servingType == DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT32;
        this.keyMemory = inJava ? new ByteBuffer[keys.length] : null;
        this.valueMemory = inJava ? new ByteBuffer[keys.length] : null;
        for (int l = 0; l < keys.length; l++) {
            keys[l] = emptyLayer(columns);
            values[l] = emptyLayer(columns);
        }
        viewMemory();
    }

    /** What keys and values are stored as: float16 for a float16 model attending in Java, else float32. */
    public DataType storage() {
        return storage;
    }

    /** (Re)takes views of the arrays' memory: they are written in place, but replaced when columns grow. */
    private void viewMemory() {
        if (keyMemory == null) {
            return;
        }
        for (int l = 0; l < keys.length; l++) {
            keyMemory[l] = keys[l].toByteBuffer(true);
            valueMemory[l] = values[l].toByteBuffer(true);
            if (!keyMemory[l].isDirect() || !valueMemory[l].isDirect()) {
                throw new IllegalStateException("KV cache memory is not directly addressable");
            }
        }
    }

    public int active() {
        return active;
    }

    public int capacityRows() {
        return rows;
    }

    public int length(int row) {
        return lengths[row];
    }

    /** Copies {@code length} positions of a prefilled row (after its left padding) into a new slot at the end. */
    public int admit(KvCache prefilled, int prefilledRow, int padding, int length) {
        if (active == rows) {
            throw new IllegalStateException("no free slot");
        }
        ensureColumns(length + 1);
        int row = active++;
        java.nio.FloatBuffer[] promptKeys = new java.nio.FloatBuffer[keys.length];
        java.nio.FloatBuffer[] promptValues = new java.nio.FloatBuffer[keys.length];
        boolean viewable = keyMemory != null;
        for (int l = 0; viewable && l < keys.length; l++) {
            promptKeys[l] = prefilled.keyMemory(l);
            promptValues[l] = prefilled.valueMemory(l);
            viewable = promptKeys[l] != null && promptValues[l] != null;
        }
        if (viewable) {
            pool.forEach(keys.length, l -> {
                copyPrompt(promptKeys[l], prefilled.capacity(), prefilledRow, padding, length, keyMemory[l], row);
                copyPrompt(promptValues[l], prefilled.capacity(), prefilledRow, padding, length, valueMemory[l], row);
            });
        } else {
            for (int l = 0; l < keys.length; l++) {
                NDIndex target = new NDIndex("{}, :, :{}, :", row, length);
                keys[l].set(target, stored(prefilled.keys(l, prefilledRow, padding, length)));
                values[l].set(target, stored(prefilled.values(l, prefilledRow, padding, length)));
            }
        }
        lengths[row] = length;
        return row;
    }

    /**
     * Positions [padding, padding + length) of a prompt's row (float32, [batch, kvHeads, capacity, headDim])
     * into the first {@code length} positions of slot {@code row} of {@code to}, rounded to float16 where the
     * cache stores that, as {@link #stored} and the decode steps' writes round. Written in Java, a layer per
     * task on the pool's threads: through libtorch (a clip, a cast and an indexed write per layer and tensor)
     * a 512-token prompt of GPT-2 small took longer to admit than a fifth of its prefill.
     */
    private void copyPrompt(java.nio.FloatBuffer from, int capacity, int fromRow, int padding, int length, ByteBuffer to,
            int row) {
        ByteBuffer target = to.duplicate().order(ByteOrder.nativeOrder());
        java.nio.ShortBuffer halves = storage == DataType.FLOAT16 ? target.asShortBuffer() : null;
        java.nio.FloatBuffer floats = halves == null ? target.asFloatBuffer() : null;
        int n = length * headDim;
        for (int h = 0; h < kvHeads; h++) {
            int source = ((fromRow * kvHeads + h) * capacity + padding) * headDim;
            int at = (row * kvHeads + h) * columns * headDim;
            if (halves != null) {
                for (int i = 0; i < n; i++) {
                    halves.put(at + i, Float16Bits.fromFloat(from.get(source + i)));
                }
            } else {
                floats.put(at, from, source, n);
            }
        }
    }

    /** Prepares a decode step in which every active row appends one token. */
    public void beginStep() {
        int longest = 0;
        for (int r = 0; r < active; r++) {
            longest = Math.max(longest, lengths[r]);
        }
        ensureColumns(longest + 1);
        stepColumns = longest + 1;
    }

    /** k, v: [active, kvHeads, 1, headDim], written at each row's own length. */
    @Override
    public NDArray[] append(int layer, NDArray k, NDArray v) {
        for (int r = 0; r < active; r++) {
            NDIndex at = new NDIndex("{}, :, {}:{}, :", r, lengths[r], lengths[r] + 1);
            keys[layer].set(at, stored(k.get(new NDIndex("{}:{}", r, r + 1)).reshape(kvHeads, 1, headDim)));
            values[layer].set(at, stored(v.get(new NDIndex("{}:{}", r, r + 1)).reshape(kvHeads, 1, headDim)));
        }
        if (keyMemory != null) {
            // Columns past a row's new token may never have been written (growth leaves them so): the mask
            // gives them weight 0, and 0 times whatever bits they hold must not be NaN.
            for (int r = 0; r < active; r++) {
                if (lengths[r] + 1 < stepColumns) {
                    NDIndex past = new NDIndex("{}, :, {}:{}, :", r, lengths[r] + 1, stepColumns);
                    keys[layer].set(past, 0f);
                    values[layer].set(past, 0f);
                }
            }
        }
        NDIndex view = new NDIndex(":{}, :, :{}, :", active, stepColumns);
        NDArray keyView = keys[layer].get(view);
        NDArray valueView = values[layer].get(view);
        if (storage != k.getDataType()) { // libtorch attends in the activations' dtype
            keyView = keyView.toType(k.getDataType(), false);
            valueView = valueView.toType(v.getDataType(), false);
        }
        return new NDArray[] {keyView, valueView};
    }

    /** A decode step attends in Java over the cache's memory; anything else goes through libtorch. */
    @Override
    public NDArray attend(int layer, NDArray q, NDArray k, NDArray v, NDArray mask, float scale, NDArray bias,
            boolean biasBeforeScale) {
        int heads = (int) q.getShape().get(1);
        if (keyMemory == null || q.getShape().get(2) != 1 || q.getShape().get(0) != active || heads % kvHeads != 0
                || mask.size() != (long) active * stepColumns
                || (bias != null && bias.size() != (long) active * heads * stepColumns)) {
            return AttentionCache.super.attend(layer, q, k, v, mask, scale, bias, biasBeforeScale);
        }
        queryScratch = HostCopies.read(q, queryScratch, Math.toIntExact(q.size())); // [active, heads, 1, headDim]
        keyScratch = HostCopies.read(k, keyScratch, Math.toIntExact(k.size())); // [active, kvHeads, 1, headDim]
        valueScratch = HostCopies.read(v, valueScratch, Math.toIntExact(v.size()));
        float[] attended = attendInJava(layer, heads, queryScratch, keyScratch, valueScratch, mask, bias, scale,
                biasBeforeScale); // [active, heads, 1, headDim]
        NDArray out = HostCopies.write(q.getManager(), attended, active * heads * headDim, new Shape(active, heads, 1, headDim));
        return q.getDataType() == DataType.FLOAT32 ? out : out.toType(q.getDataType(), false);
    }

    /** A decode step of unshared heads reads the fused projection once and returns the heads merged. */
    @Override
    public NDArray attendPacked(int layer, NDArray qkv, int heads, int headDim, NDArray mask, float scale) {
        int hidden = heads * headDim;
        if (keyMemory == null || qkv.getShape().get(1) != 1 || qkv.getShape().get(0) != active || heads != kvHeads
                || headDim != this.headDim || qkv.getShape().get(2) != 3L * hidden
                || mask.size() != (long) active * stepColumns) {
            return AttentionCache.super.attendPacked(layer, qkv, heads, headDim, mask, scale);
        }
        float[] packed = packedScratch = HostCopies.read(qkv, packedScratch, active * 3 * hidden); // [active, 1, 3 * hidden]
        // With one position per row, [active, heads, 1, headDim] is each row's hidden vector as it stands.
        float[] q = queryScratch = atLeast(queryScratch, active * hidden);
        float[] k = keyScratch = atLeast(keyScratch, active * hidden);
        float[] v = valueScratch = atLeast(valueScratch, active * hidden);
        for (int r = 0; r < active; r++) {
            System.arraycopy(packed, r * 3 * hidden, q, r * hidden, hidden);
            System.arraycopy(packed, r * 3 * hidden + hidden, k, r * hidden, hidden);
            System.arraycopy(packed, r * 3 * hidden + 2 * hidden, v, r * hidden, hidden);
        }
        float[] attended = attendInJava(layer, heads, q, k, v, mask, null, scale, false); // [active, heads, 1, headDim]
        NDArray out = HostCopies.write(qkv.getManager(), attended, active * hidden, new Shape(active, 1, hidden));
        return qkv.getDataType() == DataType.FLOAT32 ? out : out.toType(qkv.getDataType(), false); // [active, 1, hidden]
    }

    private static float[] atLeast(float[] buffer, int size) {
        return buffer.length >= size ? buffer : new float[size];
    }

    /** The decode step's attention over the cache's memory; mask and bias values are read once per step. */
    private float[] attendInJava(int layer, int heads, float[] q, float[] k, float[] v, NDArray mask, NDArray bias,
            float scale, boolean biasBeforeScale) {
        if (mask != stepMask) {
            stepMask = mask;
            stepMaskValues = HostCopies.read(mask); // [active, 1, 1, total]
        }
        if (bias != null && bias != stepBias) {
            stepBias = bias;
            stepBiasValues = HostCopies.read(bias); // [active, heads, 1, total]
        }
        return attendedScratch = DecodeAttention.attend(keyMemory[layer], valueMemory[layer],
                new DecodeAttention.CacheLayout(kvHeads, columns, headDim, storage == DataType.FLOAT16), heads, active, lengths, q, k, v,
                stepMaskValues, stepColumns, bias == null ? null : stepBiasValues, scale, biasBeforeScale, attendedScratch,
                pool);
    }

    @Override
    public void advance(int seq) {
        for (int r = 0; r < active; r++) {
            lengths[r] += seq;
        }
    }

    /** Columns a decode step attends to: the longest row's length plus the new token. */
    public int stepColumns() {
        return stepColumns;
    }

    /**
     * Rearranges the active rows: row {@code r} becomes a copy of row {@code sources[r]}; rows past
     * {@code sources.length} are freed. Used when sequences leave and when beams are reordered.
     */
    public void rearrange(int[] sources) {
        boolean identity = sources.length == active;
        for (int r = 0; identity && r < sources.length; r++) {
            identity = sources[r] == r;
        }
        if (identity) {
            return;
        }
        int longest = 0;
        for (int s : sources) {
            longest = Math.max(longest, lengths[s]);
        }
        if (keyMemory != null && increasing(sources)) {
            moveRowsDown(sources);
        } else if (sources.length > 0 && longest > 0) {
            long[] idx = Arrays.stream(sources).asLongStream().toArray();
            try (NDManager scratch = manager.newSubManager()) {
                NDArray index = scratch.create(idx);
                NDIndex region = new NDIndex(":{}, :, :{}, :", sources.length, longest);
                NDIndex prefix = new NDIndex(":, :, :{}, :", longest);
                for (int l = 0; l < keys.length; l++) {
                    try (NDArray kView = keys[l].get(prefix); NDArray vView = values[l].get(prefix);
                            NDArray k = kView.get(new NDIndex("{}", index)); NDArray v = vView.get(new NDIndex("{}", index))) {
                        keys[l].set(region, k);
                        values[l].set(region, v);
                    }
                }
            }
        }
        int[] newLengths = new int[rows];
        for (int r = 0; r < sources.length; r++) {
            newLengths[r] = lengths[sources[r]];
        }
        lengths = newLengths;
        active = sources.length;
    }

    private static boolean increasing(int[] sources) {
        for (int r = 1; r < sources.length; r++) {
            if (sources[r] <= sources[r - 1]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Sequences left: row r takes row sources[r] (never an earlier one), each head's written positions only.
     * Copying every row's first {@code longest} columns instead made the pages past a short row's length
     * resident up to the longest row's: one long sequence among short ones that come and go ended with every
     * row as long as it. In increasing order no row is overwritten before it has been moved.
     */
    private void moveRowsDown(int[] sources) {
        for (int l = 0; l < keys.length; l++) {
            for (ByteBuffer memory : new ByteBuffer[] {keyMemory[l], valueMemory[l]}) {
                ByteBuffer from = memory.duplicate(); // the same memory; blocks of different rows never overlap
                for (int r = 0; r < sources.length; r++) {
                    if (sources[r] != r) {
                        copyWritten(from, sources[r], columns, memory, r, columns, lengths[sources[r]]);
                    }
                }
            }
        }
    }

    /**
     * Each head's first {@code length} positions of row {@code fromRow} (a layer of {@code fromColumns}
     * columns) into row {@code toRow} of {@code to} (a layer of {@code toColumns}): [rows, kvHeads, columns, headDim].
     */
    private void copyWritten(ByteBuffer from, int fromRow, int fromColumns, ByteBuffer to, int toRow, int toColumns,
            int length) {
        int position = headDim * storage.getNumOfBytes(); // bytes of one position of one head
        for (int h = 0; h < kvHeads; h++) {
            to.put((toRow * kvHeads + h) * toColumns * position, from, (fromRow * kvHeads + h) * fromColumns * position,
                    length * position);
        }
    }

    /** Native memory the keys and values hold now: every layer's [rows, kvHeads, columns, headDim], twice. */
    public long bytes() {
        return 2L * keys.length * rows * kvHeads * columns * headDim * storage.getNumOfBytes();
    }

    /**
     * The keys' and values' memory of every layer, where decode attends in Java (none elsewhere): what
     * SlotKvCacheMemoryTest counts the resident pages of.
     */
    List<ByteBuffer> javaMemory() {
        List<ByteBuffer> memory = new java.util.ArrayList<>();
        if (keyMemory != null) {
            memory.addAll(List.of(keyMemory));
            memory.addAll(List.of(valueMemory));
        }
        return memory;
    }

    /** Positions each row can hold before the cache grows. */
    public int columns() {
        return columns;
    }

    /**
     * With no sequence running, gives back what growth took: the arrays return to their first size, so a
     * burst of long requests does not keep its memory for the life of the process.
     */
    public void shrinkWhenEmpty() {
        if (active != 0 || columns == initialColumns) {
            return;
        }
        pool.awaitIdle(); // a late worker may still read the old memory
        for (int l = 0; l < keys.length; l++) {
            keys[l].close();
            values[l].close();
            keys[l] = emptyLayer(initialColumns);
            values[l] = emptyLayer(initialColumns);
        }
        columns = initialColumns;
        viewMemory();
    }

    private void ensureColumns(int needed) {
        if (needed <= columns) {
            return;
        }
        int grown = columns;
        while (grown < needed) {
            grown *= 2;
        }
        pool.awaitIdle(); // a late worker may still read the old memory
        for (int l = 0; l < keys.length; l++) {
            keys[l] = grow(keys[l], grown);
            values[l] = grow(values[l], grown);
        }
        columns = grown;
        viewMemory();
    }

    /**
     * A layer's keys or values with room for {@code columnCount} positions a row. Zeroed where libtorch
     * attends (it reads every column up to the step's, masked); left unwritten where decode attends in Java,
     * which reads no row past its own length, so that only the positions sequences write become resident
     * memory (zeroing made the whole reservation resident: 36 MB of GPT-2 small's float16 cache at 16 rows).
     */
    private NDArray emptyLayer(int columnCount) {
        Shape shape = new Shape(rows, kvHeads, columnCount, headDim); // [rows, kvHeads, columns, headDim]
        return keyMemory == null ? manager.zeros(shape, storage) : manager.create(shape, storage);
    }

    /** Keys or values as the cache stores them: cast to float16, saturating as the Java path writes them. */
    private NDArray stored(NDArray kv) {
        if (kv.getDataType() == storage) {
            return kv;
        }
        // libtorch's cast turns what exceeds float16 into infinity; Float16Bits saturates: clip first to agree.
        NDArray in = storage == DataType.FLOAT16 ? kv.clip(-Float16Bits.MAX, Float16Bits.MAX) : kv;
        return in.toType(storage, false);
    }

    /**
     * The layer with {@code grown} columns, the old ones copied in. Where decode attends in Java only each
     * active row's written positions are copied and the rest is left unwritten: nothing reads a row past its
     * own length there. Copying every old column of every row had made the old reservation resident again at
     * each doubling, many times what the sequences had written. Zeroing the new columns made a growth (which
     * stalls every running sequence) several times slower. {@link #append}, the libtorch path, clears what it hands over.
     */
    private NDArray grow(NDArray old, int grown) {
        NDArray bigger = emptyLayer(grown); // [rows, kvHeads, grown, headDim]
        if (keyMemory == null) {
            bigger.set(new NDIndex(":, :, :{}, :", columns), old);
        } else {
            ByteBuffer from = old.toByteBuffer(true);
            ByteBuffer to = bigger.toByteBuffer(true);
            for (int r = 0; r < active; r++) {
                copyWritten(from, r, columns, to, r, grown, lengths[r]);
            }
        }
        old.close();
        return bigger;
    }

    @Override
    public void close() {
        pool.awaitIdle();
        manager.close();
    }
}
