package io.github.transformerslm.generation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.KvCache;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Generates for a batch of prompts together with any causal LM: prompts left-padded to a common length,
 * one forward pass per step for the whole batch. Each prompt's rows belong to a {@link DecodingUnit}
 * (one row per sampled sequence, num_beams rows for a beam search) with its own processors, random
 * stream and stopping. A finished unit never ends the others.
 */
public final class Generator {
    /** Additive mask value: large enough to zero a softmax weight, finite so padded rows never make NaN. */
    static final float MASKED = -1e9f;

    private final CausalLanguageModel model;
    private final TextDecoder decoder;

    public Generator(CausalLanguageModel model, TextDecoder decoder) {
        this.model = model;
        this.decoder = decoder;
    }

    /** One list of sequences per request, in order: num_return_sequences of them each. */
    public List<List<GeneratedSequence>> generate(NDManager parent, List<GenerationRow> requests) {
        List<DecodingUnit> units = new ArrayList<>();
        List<int[]> rowPrompts = new ArrayList<>();
        for (GenerationRow r : requests) {
            if (r.plan().beamSearch()) {
                units.add(new BeamSearchUnit(r));
                for (int b = 0; b < r.plan().numBeams(); b++) {
                    rowPrompts.add(r.prompt());
                }
            } else {
                SplittableRandom random = r.random();
                for (int n = 0; n < r.plan().numReturnSequences(); n++) {
                    // Each copy draws from its own stream, split deterministically from the request's seed.
                    units.add(new SamplingUnit(r, random.split()));
                    rowPrompts.add(r.prompt());
                }
            }
        }
        run(parent, units, rowPrompts);
        List<List<GeneratedSequence>> out = new ArrayList<>();
        int u = 0;
        for (GenerationRow r : requests) {
            if (r.plan().beamSearch()) {
                out.add(units.get(u++).results(decoder));
            } else {
                List<GeneratedSequence> sequences = new ArrayList<>();
                for (int n = 0; n < r.plan().numReturnSequences(); n++) {
                    sequences.addAll(units.get(u++).results(decoder));
                }
                out.add(sequences);
            }
        }
        return out;
    }

    private void run(NDManager parent, List<DecodingUnit> units, List<int[]> prompts) {
        int batch = prompts.size();
        int longestPrompt = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        int longestNew = 0;
        for (DecodingUnit unit : units) {
            longestNew = Math.max(longestNew, unit.maxNewTokens());
        }
        int capacity = longestPrompt + longestNew;
        int window = model.shape().slidingWindow();
        boolean[][] keyMask = new boolean[batch][capacity]; // true where a real token sits
        try (NDManager manager = parent.newSubManager(); KvCache cache = model.newCache(manager, batch, capacity)) {
            long[] ids = new long[batch * longestPrompt];
            long[] positions = new long[batch * longestPrompt];
            for (int b = 0; b < batch; b++) {
                int[] prompt = prompts.get(b);
                int pad = longestPrompt - prompt.length;
                for (int j = 0; j < longestPrompt; j++) {
                    boolean real = j >= pad;
                    keyMask[b][j] = real;
                    ids[b * longestPrompt + j] = real ? prompt[j - pad] : 0;
                    positions[b * longestPrompt + j] = real ? j - pad : 0;
                }
            }
            int past = 0;
            int stepLength = longestPrompt;
            int[] nextTokens = new int[batch];
            int[] sources = new int[batch];
            while (true) {
                float[] logits;
                try (NDScope scope = new NDScope()) {
                    NDArray inputIds = manager.create(ids, new Shape(batch, stepLength)); // [batch, seq]
                    NDArray positionIds = manager.create(positions, new Shape(batch, stepLength)); // [batch, seq]
                    NDArray mask = manager.create(additiveMask(keyMask, past, stepLength, window),
                            new Shape(batch, 1, stepLength, past + stepLength)); // [batch, 1, seq, total]
                    NDArray keyPositions = manager.create(keyPositions(keyMask, past + stepLength),
                            new Shape(batch, past + stepLength)); // [batch, total]
                    logits = model.forward(new ForwardInput(inputIds, positionIds, mask, keyPositions), cache)
                            .toFloatArray(); // [batch, vocab]
                    scope.suppressNotUsedWarning();
                }
                past += stepLength;
                int vocab = logits.length / batch;
                boolean anyActive = false;
                boolean reordered = false;
                int offset = 0;
                for (DecodingUnit unit : units) {
                    int[] unitTokens = new int[unit.rows()];
                    int[] unitSources = new int[unit.rows()];
                    if (unit.finished()) {
                        for (int r = 0; r < unit.rows(); r++) {
                            unitTokens[r] = unit.lastToken(r);
                            unitSources[r] = r;
                        }
                    } else {
                        unit.step(logits, offset, vocab, unitTokens, unitSources, decoder);
                        anyActive |= !unit.finished();
                    }
                    for (int r = 0; r < unit.rows(); r++) {
                        nextTokens[offset + r] = unitTokens[r];
                        sources[offset + r] = offset + unitSources[r];
                        reordered |= unitSources[r] != r;
                    }
                    offset += unit.rows();
                }
                if (!anyActive || past >= capacity) {
                    break;
                }
                if (reordered) {
                    cache.reorder(sources);
                }
                stepLength = 1;
                ids = new long[batch];
                positions = new long[batch];
                offset = 0;
                for (DecodingUnit unit : units) {
                    for (int r = 0; r < unit.rows(); r++) {
                        ids[offset + r] = nextTokens[offset + r];
                        positions[offset + r] = unit.nextPosition(r);
                        keyMask[offset + r][past] = true;
                    }
                    offset += unit.rows();
                }
            }
        }
    }

    /** [batch, total]: each real key's position within its own sequence. */
    static float[] keyPositions(boolean[][] keyMask, int total) {
        int batch = keyMask.length;
        float[] out = new float[batch * total];
        for (int b = 0; b < batch; b++) {
            int position = 0;
            for (int j = 0; j < total; j++) {
                out[b * total + j] = keyMask[b][j] ? position++ : 0;
            }
        }
        return out;
    }

    /**
     * [batch, 1, seq, past + seq]: query t (column past + t) sees real keys at columns up to its own and,
     * with a sliding window, fewer than {@code window} columns back.
     */
    static float[] additiveMask(boolean[][] keyMask, int past, int seq, int window) {
        int batch = keyMask.length;
        int total = past + seq;
        float[] mask = new float[batch * seq * total];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                int base = (b * seq + t) * total;
                for (int j = 0; j < total; j++) {
                    boolean visible = keyMask[b][j] && j <= past + t && (window <= 0 || past + t - j < window);
                    mask[base + j] = visible ? 0f : MASKED;
                }
            }
        }
        return mask;
    }
}
