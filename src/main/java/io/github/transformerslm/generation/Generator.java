package io.github.transformerslm.generation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.generation.processors.LogitsProcessor;
import io.github.transformerslm.generation.processors.Scores;
import io.github.transformerslm.model.CausalLanguageModel;
import io.github.transformerslm.model.ForwardInput;
import io.github.transformerslm.model.KvCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Generates a batch of rows together with any causal LM: prompts left-padded to a common length, one
 * forward pass per step for the whole batch, and per row its own processors, sampler, random stream and
 * stopping. A finished row never ends the others.
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

    public List<GeneratedSequence> generate(NDManager parent, List<GenerationRow> rows) {
        int batch = rows.size();
        int longestPrompt = rows.stream().mapToInt(r -> r.prompt().length).max().orElseThrow();
        int longestNew = rows.stream().mapToInt(r -> r.plan().maxNewTokens()).max().orElseThrow();
        int capacity = longestPrompt + longestNew;
        Row[] state = new Row[batch];
        for (int b = 0; b < batch; b++) {
            state[b] = new Row(rows.get(b), longestPrompt - rows.get(b).prompt().length);
        }
        boolean[][] keyMask = new boolean[batch][capacity]; // true where a real token sits
        int window = model.shape().slidingWindow();
        try (NDManager manager = parent.newSubManager(); KvCache cache = model.newCache(manager, batch, capacity)) {
            long[] ids = new long[batch * longestPrompt];
            long[] positions = new long[batch * longestPrompt];
            for (int b = 0; b < batch; b++) {
                int[] prompt = rows.get(b).prompt();
                int pad = state[b].padding;
                for (int j = 0; j < longestPrompt; j++) {
                    boolean real = j >= pad;
                    keyMask[b][j] = real;
                    ids[b * longestPrompt + j] = real ? prompt[j - pad] : 0;
                    positions[b * longestPrompt + j] = real ? j - pad : 0;
                }
            }
            int past = 0;
            int stepLength = longestPrompt;
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
                for (int b = 0; b < batch; b++) {
                    if (!state[b].finished()) {
                        state[b].step(Arrays.copyOfRange(logits, b * vocab, (b + 1) * vocab), decoder);
                        anyActive |= !state[b].finished();
                    }
                }
                if (!anyActive || past >= capacity) {
                    break;
                }
                stepLength = 1;
                ids = new long[batch];
                positions = new long[batch];
                for (int b = 0; b < batch; b++) {
                    ids[b] = state[b].sequence.lastToken();
                    positions[b] = state[b].sequence.length() - 1;
                    keyMask[b][past] = true;
                }
            }
        }
        List<GeneratedSequence> out = new ArrayList<>(batch);
        for (Row r : state) {
            out.add(r.result(decoder));
        }
        return out;
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

    /** One row's progress. */
    private static final class Row {
        final GenerationRow request;
        final int padding;
        final SequenceState sequence;
        final StopStrings stops;
        final float[] logprobs;
        FinishReason finish;
        String stopString;
        int stopIndex = -1;
        int textChecked;

        Row(GenerationRow request, int padding) {
            this.request = request;
            this.padding = padding;
            this.sequence = new SequenceState(request.prompt(), request.plan().maxNewTokens());
            this.stops = new StopStrings(request.plan().stopStrings());
            this.logprobs = new float[request.plan().maxNewTokens()];
        }

        boolean finished() {
            return finish != null;
        }

        void step(float[] scores, TextDecoder decoder) {
            GenerationPlan plan = request.plan();
            for (LogitsProcessor p : plan.processors()) {
                p.process(sequence, scores);
            }
            for (LogitsProcessor w : plan.warpers()) {
                w.process(sequence, scores);
            }
            int token = plan.sampler().sample(scores, request.random());
            logprobs[sequence.generatedCount()] = Scores.logSoftmaxAt(scores, token);
            sequence.append(token);
            for (int eos : plan.eosTokenIds()) {
                if (token == eos) {
                    finish = FinishReason.EOS_TOKEN;
                    return;
                }
            }
            if (!stops.isEmpty()) {
                String text = decoder.generatedText(sequence.prompt(), sequence.generated());
                int[] match = stops.find(text, textChecked);
                textChecked = text.length();
                if (match != null) {
                    finish = FinishReason.STOP_SEQUENCE;
                    stopIndex = match[0];
                    stopString = stops.get(match[1]);
                    return;
                }
            }
            if (sequence.generatedCount() >= plan.maxNewTokens()) {
                finish = FinishReason.LENGTH;
            }
        }

        GeneratedSequence result(TextDecoder decoder) {
            String text = decoder.generatedText(sequence.prompt(), sequence.generated());
            if (stopIndex >= 0 && stopIndex <= text.length()) {
                text = text.substring(0, stopIndex);
            }
            int n = sequence.generatedCount();
            return new GeneratedSequence(sequence.generated(), Arrays.copyOf(logprobs, n), text,
                    finish != null ? finish : FinishReason.LENGTH, stopString);
        }
    }
}
