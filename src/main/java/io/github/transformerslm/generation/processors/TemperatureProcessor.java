package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/** Divides scores by the temperature. A temperature of 0 means greedy and never reaches here. */
public final class TemperatureProcessor implements LogitsProcessor {
    private final float temperature;

    public TemperatureProcessor(double temperature) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new InvalidParameterException("temperature",
                    "temperature must be a strictly positive number when sampling, got " + temperature);
        }
        this.temperature = (float) temperature;
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        if (temperature == 1f) {
            return;
        }
        for (int i = 0; i < scores.length; i++) {
            scores[i] /= temperature;
        }
    }
}
