package io.github.transformerslm.generation;

/**
 * A finished sequence.
 *
 * @param tokens generated ids, the final eos token included when it ended the sequence
 * @param logprobs log-probability of each generated token under the processed distribution
 * @param text the generated text, special tokens skipped, cut before the stop string if one matched
 * @param stopString the stop string that ended it, or null
 * @param score beam search's sequence score (sum of log-probabilities over length^length_penalty), or null
 * @param topLogprobs per generated token, the most likely alternatives when they were asked for, else empty
 */
public record GeneratedSequence(int[] tokens, float[] logprobs, String text, FinishReason finishReason,
        String stopString, Double score, java.util.List<java.util.List<SequenceListener.TokenLogprob>> topLogprobs) {
    public GeneratedSequence(int[] tokens, float[] logprobs, String text, FinishReason finishReason, String stopString) {
        this(tokens, logprobs, text, finishReason, stopString, null, java.util.List.of());
    }
}
