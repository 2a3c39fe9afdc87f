package io.github.transformerslm.generation;

import java.util.List;

/**
 * The rows of the batch that one prompt's decoding owns: one row per sampled or greedy sequence, or
 * num_beams rows for a beam search. Each step it reads its rows' scores and chooses each row's next
 * token and the row whose history (KV cache included) that token extends.
 */
interface DecodingUnit {
    int rows();

    int maxNewTokens();

    boolean finished();

    /**
     * @param logits [batch × vocab] scores of the step; this unit's rows start at {@code offset}
     * @param nextTokens out: the next token of each of this unit's rows
     * @param sources out: for each of this unit's rows, the unit-relative row it continues
     */
    void step(float[] logits, int offset, int vocab, int[] nextTokens, int[] sources, TextDecoder decoder);

    /** The last token of each row, fed when the unit has finished but the batch goes on. */
    int lastToken(int row);

    /** The position of the next token of each row within its own sequence. */
    int nextPosition(int row);

    List<GeneratedSequence> results(TextDecoder decoder);
}
