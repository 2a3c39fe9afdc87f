package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Bans token sequences: a one-token entry always, a longer one when the sequence ends with all but its
 * last token. As in transformers, an entry that is just an eos token is dropped.
 */
public final class NoBadWordsProcessor implements LogitsProcessor {
    private final List<int[]> badWords;

    public NoBadWordsProcessor(List<List<Integer>> badWordsIds, int[] eosTokenIds) {
        if (badWordsIds.isEmpty()) {
            throw new InvalidParameterException("bad_words_ids", "bad_words_ids must be a non-empty list of lists");
        }
        this.badWords = new ArrayList<>();
        for (List<Integer> words : badWordsIds) {
            if (words.isEmpty() || words.stream().anyMatch(i -> i == null || i < 0)) {
                throw new InvalidParameterException("bad_words_ids",
                        "bad_words_ids must hold non-empty lists of non-negative token ids, got " + words);
            }
            int[] seq = words.stream().mapToInt(Integer::intValue).toArray();
            boolean justEos = seq.length == 1 && Arrays.stream(eosTokenIds).anyMatch(e -> e == seq[0]);
            if (!justEos) {
                badWords.add(seq);
            }
        }
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        int[] t = sequence.tokens();
        int len = sequence.length();
        for (int[] bad : badWords) {
            int prefix = bad.length - 1;
            int banned = bad[prefix];
            if (banned >= scores.length) {
                continue;
            }
            if (prefix == 0 || (len >= prefix && Arrays.equals(t, len - prefix, len, bad, 0, prefix))) {
                scores[banned] = Float.NEGATIVE_INFINITY;
            }
        }
    }
}
