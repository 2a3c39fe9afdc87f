package io.github.transformerslm.generation;

import java.util.List;

/** Receives a request's progress from the batcher, on the model thread: keep it quick. */
public interface SequenceListener {
    /**
     * A sampled or greedy sequence produced a token.
     *
     * @param sequence which of the request's num_return_sequences
     * @param top the most likely alternatives when asked for ({@link GenerationRow#topLogprobs()}), else empty
     */
    default void onToken(int sequence, int token, float logprob, List<TokenLogprob> top) {}

    /** Every sequence of the request is done. */
    void onFinish(List<GeneratedSequence> sequences);

    /** The request ended without results: cancelled, timed out, or the model failed. */
    void onError(Throwable error);

    /** A token and its log-probability. */
    record TokenLogprob(int token, float logprob) {}
}
