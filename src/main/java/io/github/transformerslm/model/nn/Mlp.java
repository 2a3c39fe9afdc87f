package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import java.util.function.UnaryOperator;

/** The two-layer MLP most decoders use: down(act(up(x))). */
public record Mlp(Linear up, Linear down, UnaryOperator<NDArray> act) {
    /** x: [batch, seq, hidden] → [batch, seq, hidden]. */
    public NDArray apply(NDArray x) {
        return down.apply(act.apply(up.apply(x)));
    }
}
