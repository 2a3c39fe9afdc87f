package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding on the first {@code rotaryDim} dimensions of each head (partial rotary
 * leaves the rest alone), in either layout transformers uses: {@link Layout#HALF} rotates the two halves
 * (Llama, NeoX, Phi, Falcon), {@link Layout#INTERLEAVED} rotates every pair (GPT-J). Cos and sin are
 * computed for exactly the positions of a step, so length-dependent scalings cost nothing extra.
 */
public final class RotaryEmbedding {
    public enum Layout { HALF, INTERLEAVED }

    private final int rotaryDim;
    private final Layout layout;
    private final RopeScaling scaling;

    public RotaryEmbedding(int rotaryDim, Layout layout, RopeScaling scaling) {
        this.rotaryDim = rotaryDim;
        this.layout = layout;
        this.scaling = scaling;
    }

    /** Cos and sin for the given positions, shaped to broadcast over heads: [batch, 1, seq, rotaryDim] × 2. */
    public NDArray[] at(NDManager manager, NDArray positionIds) {
        long[] positions = positionIds.toLongArray();
        long batch = positionIds.getShape().get(0);
        long seq = positionIds.getShape().get(1);
        long longest = 0;
        for (long p : positions) {
            longest = Math.max(longest, p);
        }
        RopeScaling.Frequencies f = scaling.at(Math.toIntExact(longest + 1));
        int half = rotaryDim / 2;
        float[] c = new float[positions.length * rotaryDim];
        float[] s = new float[positions.length * rotaryDim];
        for (int n = 0; n < positions.length; n++) {
            for (int i = 0; i < half; i++) {
                // transformers multiplies in float32; rounding the angle the same way keeps us bit-close.
                float angle = (float) positions[n] * f.inverse()[i];
                float cv = (float) Math.cos(angle) * f.attentionScaling();
                float sv = (float) Math.sin(angle) * f.attentionScaling();
                int a = layout == Layout.HALF ? i : 2 * i;
                int b = layout == Layout.HALF ? i + half : 2 * i + 1;
                c[n * rotaryDim + a] = cv;
                c[n * rotaryDim + b] = cv;
                s[n * rotaryDim + a] = sv;
                s[n * rotaryDim + b] = sv;
            }
        }
        Shape shape = new Shape(batch, 1, seq, rotaryDim);
        return new NDArray[] {manager.create(c, shape), manager.create(s, shape)};
    }

    /** x: [batch, heads, seq, headDim]; cosSin from {@link #at}. */
    public NDArray apply(NDArray x, NDArray[] cosSin) {
        if (rotaryDim == 0) {
            return x;
        }
        long headDim = x.getShape().getLastDimension();
        NDArray rot = rotaryDim == headDim ? x : x.get(new NDIndex("..., :{}", rotaryDim));
        NDArray rotated = layout == Layout.HALF ? rotateHalf(rot) : rotateEveryTwo(rot);
        NDArray out = rot.mul(cosSin[0]).add(rotated.mul(cosSin[1]));
        if (rotaryDim == headDim) {
            return out;
        }
        return out.concat(x.get(new NDIndex("..., {}:", rotaryDim)), -1);
    }

    /** (x1, x2) → (-x2, x1) over the two halves. */
    private NDArray rotateHalf(NDArray x) {
        int half = rotaryDim / 2;
        return x.get(new NDIndex("..., {}:", half)).neg().concat(x.get(new NDIndex("..., :{}", half)), -1);
    }

    /** Each pair (a, b) → (-b, a). */
    private NDArray rotateEveryTwo(NDArray x) {
        Shape shape = x.getShape();
        NDArray pairs = x.reshape(shape.slice(0, shape.dimension() - 1).add(rotaryDim / 2, 2)); // [..., dim/2, 2]
        NDArray even = pairs.get(new NDIndex("..., 0"));
        NDArray odd = pairs.get(new NDIndex("..., 1"));
        return odd.neg().stack(even, -1).reshape(shape);
    }
}
