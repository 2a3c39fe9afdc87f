package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;

/** Scaled dot-product attention with grouped/multi-query key-value heads, in float32. */
public final class Attention {
    private Attention() {}

    /**
     * q: [batch, heads, seq, headDim]; k, v: [batch, kvHeads, total, headDim];
     * mask: additive, [batch, 1, seq, total]. Returns [batch, heads, seq, headDim].
     */
    public static NDArray scaledDotProduct(NDArray q, NDArray k, NDArray v, NDArray mask, float scale) {
        return scaledDotProduct(q, k, v, mask, scale, null, false);
    }

    /**
     * With an additive score bias ([batch, heads, 1, total], ALiBi). BLOOM adds it after scaling the
     * scores; Falcon before ({@code biasBeforeScale}).
     */
    public static NDArray scaledDotProduct(NDArray q, NDArray k, NDArray v, NDArray mask, float scale, NDArray bias,
            boolean biasBeforeScale) {
        long heads = q.getShape().get(1);
        long kvHeads = k.getShape().get(1);
        if (kvHeads != heads) {
            // repeat(axis, n) repeats each head n times in place: the order of transformers' repeat_kv.
            k = k.repeat(1, heads / kvHeads);
            v = v.repeat(1, heads / kvHeads);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // [batch, heads, seq, total]
        if (bias == null) {
            scores = scores.mul(scale);
        } else if (biasBeforeScale) {
            scores = scores.add(bias).mul(scale);
        } else {
            scores = scores.mul(scale).add(bias);
        }
        return scores.add(mask).softmax(-1).matMul(v); // [batch, heads, seq, headDim]
    }

    /** [batch, seq, heads*headDim] → [batch, heads, seq, headDim]. */
    public static NDArray splitHeads(NDArray x, int heads, int headDim) {
        long b = x.getShape().get(0);
        long s = x.getShape().get(1);
        return x.reshape(b, s, heads, headDim).transpose(0, 2, 1, 3);
    }

    /** [batch, heads, seq, headDim] → [batch, seq, heads*headDim]. */
    public static NDArray mergeHeads(NDArray x) {
        long b = x.getShape().get(0);
        long h = x.getShape().get(1);
        long s = x.getShape().get(2);
        long d = x.getShape().get(3);
        return x.transpose(0, 2, 1, 3).reshape(b, s, h * d);
    }
}
