package io.github.transformerslm.generation;

import java.util.List;
import java.util.concurrent.CompletableFuture;

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

    /** A listener that completes {@code result} with the sequences, or exceptionally with the error. */
    static SequenceListener completing(CompletableFuture<List<GeneratedSequence>> result) {
        return new SequenceListener() {
            @Override
            public void onFinish(List<GeneratedSequence> sequences) {
                result.complete(sequences);
            }

            @Override
            public void onError(Throwable error) {
                result.completeExceptionally(error);
            }
        };
    }

    /** A token and its log-probability. */
    record TokenLogprob(int token, float logprob) {}
}
