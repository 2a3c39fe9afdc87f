package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
    private int columns;
    private int active;
    private int[] lengths;
    private int stepColumns; // columns the running step attends to

    public SlotKvCache(NDManager parent, CausalLanguageModel.CacheShape shape, int rows, int initialColumns) {
        this.manager = parent.newSubManager();
        this.rows = rows;
        this.kvHeads = shape.kvHeads();
        this.headDim = shape.headDim();
        this.keys = new NDArray[shape.layers()];
        this.values = new NDArray[shape.layers()];
        this.columns = Math.max(16, initialColumns);
        this.lengths = new int[rows];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = manager.zeros(new Shape(rows, kvHeads, columns, headDim), DataType.FLOAT32);
            values[l] = manager.zeros(new Shape(rows, kvHeads, columns, headDim), DataType.FLOAT32);
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
        for (int l = 0; l < keys.length; l++) {
            NDIndex target = new NDIndex("{}, :, :{}, :", row, length);
            keys[l].set(target, prefilled.keys(l, prefilledRow, padding, length));
            values[l].set(target, prefilled.values(l, prefilledRow, padding, length));
        }
        lengths[row] = length;
        return row;
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
            keys[layer].set(at, k.get(new NDIndex("{}:{}", r, r + 1)).reshape(kvHeads, 1, headDim));
            values[layer].set(at, v.get(new NDIndex("{}:{}", r, r + 1)).reshape(kvHeads, 1, headDim));
        }
        NDIndex view = new NDIndex(":{}, :, :{}, :", active, stepColumns);
        return new NDArray[] {keys[layer].get(view), values[layer].get(view)};
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
        if (sources.length > 0 && longest > 0) {
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

    private void ensureColumns(int needed) {
        if (needed <= columns) {
            return;
        }
        int grown = columns;
        while (grown < needed) {
            grown *= 2;
        }
        for (int l = 0; l < keys.length; l++) {
            keys[l] = grow(keys[l], grown);
            values[l] = grow(values[l], grown);
        }
        columns = grown;
    }

    private NDArray grow(NDArray old, int grown) {
        NDArray bigger = manager.zeros(new Shape(rows, kvHeads, grown, headDim), DataType.FLOAT32);
        bigger.set(new NDIndex(":, :, :{}, :", columns), old);
        old.close();
        return bigger;
    }

    @Override
    public void close() {
        manager.close();
    }
}
