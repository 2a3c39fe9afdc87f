package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import java.util.Locale;
import java.util.function.UnaryOperator;

/** Activation functions by their Hugging Face {@code hidden_act} / {@code activation_function} names. */
public final class Activations {
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);

    private Activations() {}

    /**
     * The tanh approximation ({@code gelu_new}); DJL's {@code gelu} is the erf form and differs by ~1e-3.
     * Written as x · sigmoid(2u), which equals 0.5 · x · (1 + tanh u) with two operations fewer.
     */
    public static NDArray geluTanh(NDArray x) {
        NDArray twiceInner = x.pow(3).mul(0.044715f).add(x).mul(2 * SQRT_2_OVER_PI);
        return x.mul(Activation.sigmoid(twiceInner));
    }

    public static NDArray silu(NDArray x) {
        return x.mul(Activation.sigmoid(x));
    }

    public static UnaryOperator<NDArray> byName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_approx" -> Activations::geluTanh;
            case "gelu" -> Activation::gelu;
            case "silu", "swish" -> Activations::silu;
            case "relu" -> Activation::relu;
            default -> throw new IllegalArgumentException("unsupported activation function '" + name + "'");
        };
    }
}
