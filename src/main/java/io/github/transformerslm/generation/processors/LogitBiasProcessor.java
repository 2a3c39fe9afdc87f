package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;
import java.util.Map;

/** OpenAI's logit_bias: adds each token's bias to its score. */
public final class LogitBiasProcessor implements LogitsProcessor {
    private final int[] tokens;
    private final float[] biases;

    public LogitBiasProcessor(Map<Integer, Double> bias) {
        this.tokens = new int[bias.size()];
        this.biases = new float[bias.size()];
        int i = 0;
        for (Map.Entry<Integer, Double> e : bias.entrySet()) {
            if (e.getKey() < 0 || Math.abs(e.getValue()) > 100) {
                throw new InvalidParameterException("logit_bias", "logit_bias needs token ids >= 0 and biases in"
                        + " [-100, 100], got " + e.getKey() + ": " + e.getValue());
            }
            tokens[i] = e.getKey();
            biases[i++] = e.getValue().floatValue();
        }
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < scores.length) {
                scores[tokens[i]] += biases[i];
            }
        }
    }
}
