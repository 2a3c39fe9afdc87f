package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding in the "rotate half" layout of {@code modeling_llama.py}: the first
 * {@code rotaryDim} dimensions of each head are rotated, the rest pass through (partial rotary).
 * The cos/sin tables are computed once in double precision for every position.
 */
public final class RotaryEmbedding {
    private final int rotaryDim;
    private final NDArray cos; // [maxPositions, rotaryDim]
    private final NDArray sin; // [maxPositions, rotaryDim]

    public RotaryEmbedding(NDManager manager, int rotaryDim, int maxPositions, double[] inverseFrequencies,
            double attentionScaling) {
        this.rotaryDim = rotaryDim;
        int half = rotaryDim / 2;
        float[] c = new float[maxPositions * rotaryDim];
        float[] s = new float[maxPositions * rotaryDim];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                // transformers computes the angle in float32; rounding it the same way keeps us bit-close.
                float angle = (float) p * (float) inverseFrequencies[i];
                float cv = (float) (Math.cos(angle) * attentionScaling);
                float sv = (float) (Math.sin(angle) * attentionScaling);
                c[p * rotaryDim + i] = cv;
                c[p * rotaryDim + i + half] = cv;
                s[p * rotaryDim + i] = sv;
                s[p * rotaryDim + i + half] = sv;
            }
        }
        this.cos = manager.create(c, new Shape(maxPositions, rotaryDim));
        this.sin = manager.create(s, new Shape(maxPositions, rotaryDim));
    }

    /** The default inverse frequencies: 1 / base^(2i / dim). */
    public static double[] defaultInverseFrequencies(int rotaryDim, double base) {
        double[] inv = new double[rotaryDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(base, (2.0 * i) / rotaryDim);
        }
        return inv;
    }

    /** Cos and sin for the given positions, shaped to broadcast over heads: [batch, 1, seq, rotaryDim]. */
    public NDArray[] at(NDArray positionIds) {
        NDArray flat = positionIds.flatten(); // [batch*seq]
        Shape shape = new Shape(positionIds.getShape().get(0), 1, positionIds.getShape().get(1), rotaryDim);
        NDArray c = cos.get(new NDIndex("{}", flat)).reshape(shape);
        NDArray s = sin.get(new NDIndex("{}", flat)).reshape(shape);
        return new NDArray[] {c, s};
    }

    /** x: [batch, heads, seq, headDim]; cosSin from {@link #at}. */
    public NDArray apply(NDArray x, NDArray[] cosSin) {
        long headDim = x.getShape().getLastDimension();
        NDArray rot = rotaryDim == headDim ? x : x.get(new NDIndex("..., :{}", rotaryDim));
        int half = rotaryDim / 2;
        NDArray x1 = rot.get(new NDIndex("..., :{}", half));
        NDArray x2 = rot.get(new NDIndex("..., {}:", half));
        NDArray rotated = x2.neg().concat(x1, -1);
        NDArray out = rot.mul(cosSin[0]).add(rotated.mul(cosSin[1]));
        if (rotaryDim == headDim) {
            return out;
        }
        return out.concat(x.get(new NDIndex("..., {}:", rotaryDim)), -1);
    }
}
