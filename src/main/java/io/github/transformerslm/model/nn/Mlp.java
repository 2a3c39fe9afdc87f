package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import java.util.function.UnaryOperator;

/** The two-layer MLP most decoders use: down(act(up(x))). */
public record Mlp(Linear up, Linear down, UnaryOperator<NDArray> act) {
    /** x: [batch, seq, hidden] → [batch, seq, hidden]. */
    public NDArray apply(NDArray x) {
        NDArray hidden = act instanceof ElementwiseActivation fused ? up.apply(x, fused) : act.apply(up.apply(x));
        return down.apply(hidden);
    }
}
