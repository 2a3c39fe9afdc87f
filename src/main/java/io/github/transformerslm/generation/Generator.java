package io.github.transformerslm.generation;

import ai.djl.ndarray.NDManager;
import io.github.transformerslm.model.CausalLanguageModel;
import java.util.ArrayList;
import java.util.List;

/**
 * Generates for a fixed set of prompts and returns when all are done: the continuous batcher, run on
 * the calling thread with everything submitted at once. For warm-up, benchmarks and tests.
 */
public final class Generator {
    private final CausalLanguageModel model;
    private final TextDecoder decoder;

    public Generator(CausalLanguageModel model, TextDecoder decoder) {
        this.model = model;
        this.decoder = decoder;
    }

    /** One list of sequences per request, in order: num_return_sequences of them each. */
    public List<List<GeneratedSequence>> generate(NDManager parent, List<GenerationRow> requests) {
        return generate(parent, requests, (request, sequence, token) -> {});
    }

    /** Hears of each token as the batcher produces it, on the calling thread: request index, sequence, token. */
    @FunctionalInterface
    public interface TokenObserver {
        void onToken(int request, int sequence, int token);
    }

    /** As {@link #generate(NDManager, List)}, telling {@code observer} of every token as it comes. */
    public List<List<GeneratedSequence>> generate(NDManager parent, List<GenerationRow> requests, TokenObserver observer) {
        int rows = requests.stream().mapToInt(GenerationRow::rows).sum();
        List<List<GeneratedSequence>> out = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, decoder, parent,
                new ContinuousBatcher.Limits(rows, Integer.MAX_VALUE))) {
            for (GenerationRow r : requests) {
                int index = out.size();
                out.add(null);
                batcher.submit(r, new SequenceListener() {
                    @Override
                    public void onToken(int sequence, int token, float logprob, List<TokenLogprob> top) {
                        observer.onToken(index, sequence, token);
                    }

                    @Override
                    public void onFinish(List<GeneratedSequence> sequences) {
                        out.set(index, sequences);
                    }

                    @Override
                    public void onError(Throwable error) {
                        errors.add(error);
                    }
                });
            }
            while (batcher.hasWork()) {
                batcher.step();
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("generation failed: " + errors.get(0).getMessage(), errors.get(0));
        }
        return out;
    }
}
