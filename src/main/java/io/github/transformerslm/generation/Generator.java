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
