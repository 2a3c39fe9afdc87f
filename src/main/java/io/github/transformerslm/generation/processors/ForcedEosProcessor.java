package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.SequenceState;
import java.util.Arrays;

/** At the last position allowed, only the forced eos token(s) remain possible. */
public final class ForcedEosProcessor implements LogitsProcessor {
    private final int maxNewTokens;
    private final int[] eosTokenIds;

    public ForcedEosProcessor(int maxNewTokens, int[] eosTokenIds) {
        if (eosTokenIds.length == 0 || Arrays.stream(eosTokenIds).anyMatch(i -> i < 0)) {
            throw new InvalidParameterException("forced_eos_token_id",
                    "forced_eos_token_id must be a non-negative token id or a list of them");
        }
        this.maxNewTokens = maxNewTokens;
        this.eosTokenIds = eosTokenIds.clone();
    }

    @Override
    public void process(SequenceState sequence, float[] scores) {
        if (sequence.generatedCount() == maxNewTokens - 1) {
            Arrays.fill(scores, Float.NEGATIVE_INFINITY);
            for (int eos : eosTokenIds) {
                if (eos < scores.length) {
                    scores[eos] = 0f;
                }
            }
        }
    }
}
