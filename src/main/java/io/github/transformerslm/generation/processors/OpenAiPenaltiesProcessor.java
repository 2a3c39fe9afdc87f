package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;
import java.util.HashMap;
import java.util.Map;

/**
 * OpenAI's presence and frequency penalties over the generated tokens (not the prompt):
 * score -= presence · [count > 0] + frequency · count.
 */
public final class OpenAiPenaltiesProcessor implements LogitsProcessor {
    private final float presence;
    private final float frequency;

    public OpenAiPenaltiesProcessor(double presence, double frequency) {
        InvalidParameterException.require(presence >= -2 && presence <= 2, "presence_penalty",
                "presence_penalty must be in [-2, 2], got " + presence);
        InvalidParameterException.require(frequency >= -2 && frequency <= 2, "frequency_penalty",
                "frequency_penalty must be in [-2, 2], got " + frequency);
        this.presence = (float) presence;
        this.frequency = (float) frequency;
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        Map<Integer, Integer> counts = new HashMap<>();
        int[] t = sequence.tokens();
        for (int i = sequence.promptLength(); i < sequence.length(); i++) {
            counts.merge(t[i], 1, Integer::sum);
        }
        counts.forEach((token, count) -> {
            if (token < scores.length) {
                scores[token] -= presence + frequency * count;
            }
        });
    }
}
