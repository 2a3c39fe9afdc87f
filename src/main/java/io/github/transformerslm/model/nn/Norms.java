package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** The normalisations decoder stacks use, computed in float32 as transformers does for RMSNorm. */
public final class Norms {
    private Norms() {}

    /** LayerNorm over the last axis. x: [..., hidden]. */
    public static NDArray layerNorm(NDArray x, NDArray weight, NDArray bias, float eps) {
        return ai.djl.nn.norm.LayerNorm.layerNorm(x, new Shape(x.getShape().getLastDimension()), weight, bias, eps)
                .singletonOrThrow();
    }

    /** RMSNorm (Llama): x · rsqrt(mean(x²) + eps) · weight. x: [..., hidden]. */
    public static NDArray rmsNorm(NDArray x, NDArray weight, float eps) {
        NDArray variance = x.square().mean(new int[] {-1}, true); // [..., 1]
        return x.mul(variance.add(eps).pow(-0.5f)).mul(weight);
    }

    /** A norm with its parameters, so that blocks hold one object per norm. */
    public interface Norm {
        NDArray apply(NDArray x);
    }

    public static Norm layerNorm(NDArray weight, NDArray bias, float eps) {
        return x -> layerNorm(x, weight, bias, eps);
    }

    public static Norm rmsNorm(NDArray weight, float eps) {
        return x -> rmsNorm(x, weight, eps);
    }
}
