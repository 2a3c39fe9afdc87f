package io.github.transformerslm.generation.processors;

import io.github.transformerslm.generation.SequenceState;

/**
 * Rewrites one row's next-token scores in place, as a {@code LogitsProcessor} of transformers'
 * {@code logits_process.py} does. Constructors validate their argument and name the key when it is bad.
 */
public interface LogitsProcessor {
    void process(SequenceState sequence, float[] scores);
}
