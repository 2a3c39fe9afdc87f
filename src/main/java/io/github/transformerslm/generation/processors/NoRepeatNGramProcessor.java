package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;
import java.util.Arrays;

/** Bans every token that would repeat an n-gram already present in the sequence, prompt included. */
public final class NoRepeatNGramProcessor implements LogitsProcessor {
    private final int n;

    public NoRepeatNGramProcessor(int n) {
        if (n <= 0) {
            throw new InvalidParameterException("no_repeat_ngram_size",
                    "no_repeat_ngram_size must be a positive integer, got " + n);
        }
        this.n = n;
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        int len = sequence.length();
        if (len + 1 < n) {
            return;
        }
        int[] t = sequence.tokens();
        int prefixStart = len - (n - 1); // the last n-1 tokens are the prefix of the n-gram to come
        for (int start = 0; start + n <= len; start++) {
            if (Arrays.equals(t, start, start + n - 1, t, prefixStart, len)) {
                int banned = t[start + n - 1];
                if (banned >= 0 && banned < scores.length) {
                    scores[banned] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }
}
