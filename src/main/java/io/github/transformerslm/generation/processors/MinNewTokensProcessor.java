package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;

/**
 * Forbids end-of-sequence tokens until a minimum is reached: {@code min_new_tokens} counts generated
 * tokens, {@code min_length} counts the whole sequence, prompt included (transformers' two processors).
 */
public final class MinNewTokensProcessor implements LogitsProcessor {
    private final int minimum;
    private final boolean countPrompt;
    private final int[] eosTokenIds;

    private MinNewTokensProcessor(int minimum, boolean countPrompt, int[] eosTokenIds) {
        this.minimum = minimum;
        this.countPrompt = countPrompt;
        this.eosTokenIds = eosTokenIds.clone();
    }

    public static MinNewTokensProcessor minNewTokens(int minNewTokens, int[] eosTokenIds) {
        if (minNewTokens < 0) {
            throw new InvalidParameterException("min_new_tokens", "min_new_tokens must be >= 0, got " + minNewTokens);
        }
        return new MinNewTokensProcessor(minNewTokens, false, eosTokenIds);
    }

    public static MinNewTokensProcessor minLength(int minLength, int[] eosTokenIds) {
        if (minLength < 0) {
            throw new InvalidParameterException("min_length", "min_length must be >= 0, got " + minLength);
        }
        return new MinNewTokensProcessor(minLength, true, eosTokenIds);
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        int length = countPrompt ? sequence.length() : sequence.generatedCount();
        if (length < minimum) {
            for (int eos : eosTokenIds) {
                if (eos >= 0 && eos < scores.length) {
                    scores[eos] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }
}
