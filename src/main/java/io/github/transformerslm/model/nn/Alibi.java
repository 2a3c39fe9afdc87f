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

    /**
     * Falcon's build_alibi_tensor: the same slopes, but rounded to bfloat16 and multiplied in bfloat16,
     * so every bias is a bfloat16 value. Computed on the host, because the engine aborts on bfloat16.
     */
    public NDArray bfloat16Bias(NDArray keyPositions) {
        long b = keyPositions.getShape().get(0);
        int total = Math.toIntExact(keyPositions.getShape().get(1));
        float[] positions = keyPositions.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        float[] slope = slopes.toFloatArray();
        int heads = slope.length;
        float[] out = new float[Math.toIntExact(b * heads * total)];
        for (int row = 0; row < b; row++) {
            for (int h = 0; h < heads; h++) {
                float s = roundToBfloat16(slope[h]);
                for (int t = 0; t < total; t++) {
                    out[(row * heads + h) * total + t] = roundToBfloat16(s * positions[row * total + t]);
                }
            }
        }
        return keyPositions.getManager().create(out, new Shape(b, heads, 1, total));
    }

    /** Round to nearest even, as a float32 → bfloat16 cast does. */
    static float roundToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }
}
