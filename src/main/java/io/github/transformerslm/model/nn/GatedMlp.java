package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import java.util.function.UnaryOperator;

/** Llama's gated MLP: down(act(gate(x)) · up(x)). */
public record GatedMlp(Linear gate, Linear up, Linear down, UnaryOperator<NDArray> act) {
    /** x: [batch, seq, hidden] → [batch, seq, hidden]. */
    public NDArray apply(NDArray x) {
        NDArray gated = act instanceof ElementwiseActivation fused ? gate.apply(x, fused) : act.apply(gate.apply(x));
        return down.apply(gated.mul(up.apply(x)));
    }
}
