package io.github.transformerslm.generation;

import io.github.transformerslm.generation.processors.LogitsProcessor;
import io.github.transformerslm.generation.processors.Scores;
import java.util.Arrays;
import java.util.List;

/** One greedy or sampled sequence: processors, warpers, sampler, and its own stopping. */
final class SamplingUnit implements DecodingUnit {
    private final GenerationPlan plan;
    private final java.util.SplittableRandom random;
    private final SequenceState sequence;
    private final StopStrings stops;
    private final float[] logprobs;
    private final int topLogprobs;
    private List<SequenceListener.TokenLogprob> lastTop = List.of();
    private final List<List<SequenceListener.TokenLogprob>> tops = new java.util.ArrayList<>();
    private FinishReason finish;
    private String stopString;
    private int stopIndex = -1;
    private int textChecked;
    /**
     * The scores a step works on, one array per model thread, refilled for each sequence in turn: a fresh
     * copy per token (200 KB for GPT-2's vocabulary) was most of what a decode step allocated, a young
     * collection every few steps at batch 16. One array per thread rather than per sequence, which would
     * live as long as its request and be promoted (the service's memory after a burst measured the same
     * either way).
     */
    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[0]);

    SamplingUnit(GenerationRow request, java.util.SplittableRandom random) {
        this.plan = request.plan();
        this.random = random;
        this.sequence = new SequenceState(request.prompt(), plan.maxNewTokens());
        this.stops = new StopStrings(plan.stopStrings());
        this.logprobs = new float[plan.maxNewTokens()];
        this.topLogprobs = request.topLogprobs();
    }

    int lastTokenGenerated() {
        return sequence.lastToken();
    }

    float lastLogprob() {
        return logprobs[sequence.generatedCount() - 1];
    }

    List<SequenceListener.TokenLogprob> lastTop() {
        return lastTop;
    }

    @Override
    public int maxNewTokens() {
        return plan.maxNewTokens();
    }

    @Override
    public int rows() {
        return 1;
    }

    @Override
    public boolean finished() {
        return finish != null;
    }

    @Override
    public void step(float[] logits, int offset, int vocab, int[] nextTokens, int[] sources, TextDecoder decoder) {
        float[] scores = SCORES.get();
        if (scores.length != vocab) {
            scores = new float[vocab];
            SCORES.set(scores);
        }
        System.arraycopy(logits, offset * vocab, scores, 0, vocab);
        for (LogitsProcessor p : plan.processors()) {
            p.process(sequence, scores);
        }
        for (LogitsProcessor w : plan.warpers()) {
            w.process(sequence, scores);
        }
        int token = plan.sampler().sample(scores, random);
        logprobs[sequence.generatedCount()] = Scores.logSoftmaxAt(scores, token);
        if (topLogprobs > 0) {
            lastTop = Scores.topLogprobs(scores, topLogprobs);
            tops.add(lastTop);
        }
        sequence.append(token);
        nextTokens[0] = token;
        sources[0] = 0;
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

    @Override
    public int lastToken(int row) {
        return sequence.lastToken();
    }

    @Override
    public int nextPosition(int row) {
        return sequence.length() - 1;
    }

    @Override
    public List<GeneratedSequence> results(TextDecoder decoder) {
        String text = decoder.generatedText(sequence.prompt(), sequence.generated());
        if (stopIndex >= 0 && stopIndex <= text.length()) {
            text = text.substring(0, stopIndex);
        }
        int n = sequence.generatedCount();
        return List.of(new GeneratedSequence(sequence.generated(), Arrays.copyOf(logprobs, n), text,
                finish != null ? finish : FinishReason.LENGTH, stopString, null, List.copyOf(tops)));
    }
}
