package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import java.util.Locale;
import java.util.function.UnaryOperator;

/** Activation functions by their Hugging Face {@code hidden_act} / {@code activation_function} names. */
public final class Activations {
    private Activations() {}

    /**
     * {@code gelu_new} and friends are the tanh approximation (DJL's {@code gelu} is the erf form and differs
     * by ~1e-3); they and SiLU run fused into the decode kernels ({@link ElementwiseActivation}).
     */
    public static UnaryOperator<NDArray> byName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_approx" -> ElementwiseActivation.GELU_TANH;
            case "gelu" -> Activation::gelu;
            case "silu", "swish" -> ElementwiseActivation.SILU;
            case "relu" -> Activation::relu;
            default -> throw new IllegalArgumentException("unsupported activation function '" + name + "'");
        };
    }
}
