package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/** Divides scores by the temperature. A temperature of 0 means greedy and never reaches here. */
public record TemperatureProcessor(double temperature) implements LogitsProcessor {
    public TemperatureProcessor {
        InvalidParameterException.require(temperature > 0 && !Double.isInfinite(temperature), "temperature",
                "temperature must be a strictly positive number when sampling, got " + temperature);
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        if (temperature == 1.0) {
            return;
        }
        float t = (float) temperature; // scores are float32 and so is the divisor, as in transformers
        for (int i = 0; i < scores.length; i++) {
            scores[i] /= t;
        }
    }
}
