package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Attention with linear biases (BLOOM, Falcon with {@code alibi}): each head adds slope × key position
 * to its scores. Per query, softmax only sees differences, so biasing by absolute key position is the
 * relative bias of the paper.
 */
public final class Alibi {
    private final NDArray slopes; // [1, heads, 1, 1]

    public Alibi(NDManager manager, int heads) {
        this.slopes = manager.create(slopes(heads), new Shape(1, heads, 1, 1));
    }

    /** The geometric slopes of BLOOM's build_alibi_tensor, including its rule for head counts that are not powers of two. */
    static float[] slopes(int heads) {
        int closest = Integer.highestOneBit(heads);
        float[] out = new float[heads];
        double base = Math.pow(2, -Math.pow(2, -(log2(closest) - 3)));
        for (int i = 0; i < closest; i++) {
            out[i] = (float) Math.pow(base, i + 1);
        }
        if (closest != heads) {
            double extraBase = Math.pow(2, -Math.pow(2, -(log2(2 * closest) - 3)));
            int remaining = Math.min(closest, heads - closest);
            for (int i = 0; i < remaining; i++) {
                out[closest + i] = (float) Math.pow(extraBase, 2 * i + 1);
            }
        }
        return out;
    }

    private static double log2(int n) {
        return Math.log(n) / Math.log(2);
    }

    /** keyPositions: [batch, total] → bias [batch, heads, 1, total]. */
    public NDArray bias(NDArray keyPositions) {
        long b = keyPositions.getShape().get(0);
        long total = keyPositions.getShape().get(1);
        return keyPositions.reshape(b, 1, 1, total).mul(slopes);
    }
}
