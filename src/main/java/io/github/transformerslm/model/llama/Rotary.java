package io.github.transformerslm.model.llama;

import ai.djl.ndarray.NDManager;
import io.github.transformerslm.model.nn.RotaryEmbedding;
import io.github.transformerslm.weights.CheckpointException;

/** Chooses the rotary embedding a Llama-family config asks for. */
final class Rotary {
    private Rotary() {}

    static RotaryEmbedding forConfig(NDManager manager, LlamaConfig c) {
        if (c.ropeScaling() != null && !c.ropeScaling().isNull()) {
            String type = c.ropeScaling().path("rope_type").asString(c.ropeScaling().path("type").asString("default"));
            if (!type.equals("default")) {
                throw new CheckpointException("config.json: rope_scaling type '" + type + "' is not supported yet");
            }
        }
        double[] inv = RotaryEmbedding.defaultInverseFrequencies(c.headDim(), c.ropeTheta());
        return new RotaryEmbedding(manager, c.headDim(), c.maxPositionEmbeddings(), inv, 1.0);
    }
}
