package io.github.transformerslm.model.nn;

/**
 * A weight matrix packed once at load for the {@link VectorKernels}' panel layout: {@code panels} blocks of
 * {@link VectorKernels#PANEL} output columns. {@link VectorProduct} splits a product's panels across the
 * {@link io.github.transformerslm.runtime.MatmulPool}'s threads and asks the matrix to multiply each block; how the weights are stored
 * (float32, float16, int8 or int4 with scales) is the matrix's own business.
 */
interface PackedMatrix {
    int in();

    int out();

    int panels();

    /** Panels a one-row product reads side by side: a block of panels split off for a thread is best a multiple. */
    default int panelsPerPass() {
        return 1;
    }

    /** "float32", "float16", "int8" or "int4": what a log line calls this storage. */
    String format();

    /** Bytes the packed weights, scales and bias occupy. */
    long bytes();

    /**
     * The input as the kernels read it, computed once per product on the calling thread before its blocks
     * run: x itself, or a rescaled copy in {@code work.prepared}; per-row figures the kernels need go into
     * {@code work.perRow}, and an input quantized to integers into {@code work.quantized}. x: [rows, in].
     */
    float[] prepare(float[] x, int rows, VectorProduct.Workspace work);

    /**
     * Panels [p0, p1) of y = x·W + bias: columns [p0·PANEL, p1·PANEL) of y; x, perRow and quantized as {@link #prepare}
     * left them; y: [rows, yStride]. Called concurrently for disjoint panel ranges.
     */
    void multiply(float[] x, float[] perRow, int[] quantized, int rows, float[] y, int yStride, int p0, int p1);

    /** The weight of output o and input i, as the products multiply by it. */
    float weight(int o, int i);

    /** The weights of outputs {@code ids} (rows of W as {@code [out, in]}) as float32: [ids.length, in]. */
    default float[] rows(long[] ids) {
        int in = in();
        float[] rows = new float[ids.length * in];
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= out()) {
                throw new IndexOutOfBoundsException("row " + ids[t] + " of " + out());
            }
            for (int i = 0; i < in; i++) {
                rows[t * in + i] = weight((int) ids[t], i);
            }
        }
        return rows;
    }
}
