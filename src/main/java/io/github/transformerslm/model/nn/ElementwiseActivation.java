package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * An activation that a decode step computes in Java, on each thread's block of a {@link Linear}'s output
 * while it is still in cache ({@link Linear#apply(NDArray, ElementwiseActivation)}), instead of as a chain
 * of libtorch operations on the whole output afterwards (GELU-tanh was six of them, each a JNI call and a
 * new tensor, a visible share of a decode step; in Java it is a small fraction of that, split across the
 * threads). Elsewhere (prefill, libtorch-only JVMs) it is the same formula in libtorch.
 * Only this class touches the Vector API outside {@link VectorKernels}, and only when the kernels are in
 * use, so a JVM without the incubator module never loads it.
 */
public final class ElementwiseActivation implements UnaryOperator<NDArray> {
    /** The tanh form, {@code gelu_new}, as x · sigmoid(2u), u = √(2/π)(x + 0.044715x³). */
    static final ElementwiseActivation GELU_TANH = new ElementwiseActivation(Kind.GELU_TANH);
    /** x · sigmoid(x). */
    static final ElementwiseActivation SILU = new ElementwiseActivation(Kind.SILU);

    private enum Kind { GELU_TANH, SILU }

    private static final float TWO_SQRT_2_OVER_PI = (float) (2 * Math.sqrt(2.0 / Math.PI));

    private final Kind kind;

    private ElementwiseActivation(Kind kind) {
        this.kind = kind;
    }

    /** The libtorch form, for products that did not run in the kernels. */
    @Override
    public NDArray apply(NDArray x) {
        NDArray t = kind == Kind.GELU_TANH ? x.pow(3).mul(0.044715f).add(x).mul(TWO_SQRT_2_OVER_PI) : x;
        return x.mul(ai.djl.nn.Activation.sigmoid(t));
    }

    /** y[from, to) in place. */
    void applyInPlace(float[] y, int from, int to) {
        if (kind == Kind.GELU_TANH) {
            Vectors.geluTanh(y, from, to);
        } else {
            Vectors.silu(y, from, to);
        }
    }

    /** The Vector API code, in a class of its own so that it loads only where the kernels run. */
    private static final class Vectors {
        private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

        static void geluTanh(float[] y, int from, int to) {
            int i = from;
            for (; i <= to - F.length(); i += F.length()) {
                FloatVector x = FloatVector.fromArray(F, y, i);
                FloatVector t = x.mul(x).mul(x).mul(0.044715f).add(x).mul(TWO_SQRT_2_OVER_PI);
                x.div(VectorExp.exp(t.neg()).add(1f)).intoArray(y, i); // x / (1 + e^-t)
            }
            for (; i < to; i++) {
                float x = y[i];
                y[i] = x / (1f + VectorExp.exp(-((x * x * x * 0.044715f + x) * TWO_SQRT_2_OVER_PI)));
            }
        }

        static void silu(float[] y, int from, int to) {
            int i = from;
            for (; i <= to - F.length(); i += F.length()) {
                FloatVector x = FloatVector.fromArray(F, y, i);
                x.div(VectorExp.exp(x.neg()).add(1f)).intoArray(y, i);
            }
            for (; i < to; i++) {
                y[i] = y[i] / (1f + VectorExp.exp(-y[i]));
            }
        }
    }
}
