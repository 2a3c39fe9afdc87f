package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * y = x·Wᵀ + b with W in Hugging Face's {@code [out, in]} layout, the layout libtorch's half-precision
 * GEMM is fast on. Weights may be float16 while activations stay float32: the input is cast to the
 * weight's dtype and the result back to float32, so norms, softmax and the residual stream never lose
 * precision.
 */
public final class Linear {
    private final NDArray weight; // [out, in]
    private final NDArray bias; // [out] or null

    public Linear(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
    }

    public NDArray weight() {
        return weight;
    }

    public long outFeatures() {
        return weight.getShape().get(0);
    }

    /** x: [..., in] float32 → [..., out] float32. */
    public NDArray apply(NDArray x) {
        DataType wt = weight.getDataType();
        NDArray in = x.getDataType() == wt ? x : x.toType(wt, false);
        NDArray y = ai.djl.nn.core.Linear.linear(in, weight, bias).singletonOrThrow();
        return y.getDataType() == DataType.FLOAT32 ? y : y.toType(DataType.FLOAT32, false);
    }
}
