package io.github.transformerslm.generation;

import io.github.transformerslm.generation.processors.LogitsProcessor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Beam search, and beam sampling when the plan samples, as transformers' {@code _beam_search} and
 * {@code BeamSearchScorer} do it: processors act on log-probabilities, candidates are the best (or
 * sampled) continuations over all beams, a candidate ending in eos becomes a finished hypothesis scored
 * by sum of log-probabilities over generated length^length_penalty, and early_stopping decides when the
 * search is over.
 */
final class BeamSearchUnit implements DecodingUnit {
    /** The score of a beam that does not exist yet: only beam 0 is extended at the first step. */
    private static final double NO_BEAM = -1e9;

    private record Hypothesis(double score, int[] tokens, float[] logprobs, int eos) {}

    private final GenerationPlan plan;
    private final SplittableRandom random;
    private final int beams;
    private SequenceState[] sequences;
    private float[][] logprobs;
    private double[] beamScores;
    private final List<Hypothesis> hypotheses = new ArrayList<>();
    private double worstScore = 1e9;
    private boolean done;
    private boolean lengthReached;

    BeamSearchUnit(GenerationRow request) {
        this.plan = request.plan();
        this.random = request.random();
        this.beams = plan.numBeams();
        this.sequences = new SequenceState[beams];
        this.logprobs = new float[beams][plan.maxNewTokens()];
        this.beamScores = new double[beams];
        for (int b = 0; b < beams; b++) {
            sequences[b] = new SequenceState(request.prompt(), plan.maxNewTokens());
            beamScores[b] = b == 0 ? 0 : NO_BEAM;
        }
    }

    @Override
    public int maxNewTokens() {
        return plan.maxNewTokens();
    }

    @Override
    public int rows() {
        return beams;
    }

    @Override
    public boolean finished() {
        return done || lengthReached;
    }

    @Override
    public void step(float[] logits, int offset, int vocab, int[] nextTokens, int[] sources, TextDecoder decoder) {
        float[][] processed = new float[beams][];
        double[] totals = new double[beams * vocab];
        for (int b = 0; b < beams; b++) {
            float[] scores = logSoftmax(logits, (offset + b) * vocab, vocab);
            for (LogitsProcessor p : plan.processors()) {
                p.process(sequences[b], scores);
            }
            for (LogitsProcessor w : plan.warpers()) {
                w.process(sequences[b], scores);
            }
            processed[b] = scores;
            for (int v = 0; v < vocab; v++) {
                totals[b * vocab + v] = scores[v] + beamScores[b];
            }
        }
        int keep = Math.max(2, 1 + plan.eosTokenIds().length) * beams;
        int[] candidates = plan.sampling() ? sampleCandidates(totals, keep) : topCandidates(totals, keep);

        int generated = sequences[0].generatedCount();
        double[] newScores = new double[beams];
        int[] newTokens = new int[beams];
        int[] newSources = new int[beams];
        int filled = 0;
        for (int rank = 0; rank < candidates.length && filled < beams; rank++) {
            int token = candidates[rank] % vocab;
            int source = candidates[rank] / vocab;
            double score = totals[candidates[rank]];
            if (isEos(token)) {
                if (rank >= beams) {
                    continue; // an eos outside the best num_beams candidates is not a finished hypothesis
                }
                float[] lp = Arrays.copyOf(logprobs[source], generated + 1);
                lp[generated] = processed[source][token];
                addHypothesis(sequences[source].generated(), lp, score, generated + 1, token);
            } else {
                newScores[filled] = score;
                newTokens[filled] = token;
                newSources[filled] = source;
                filled++;
            }
        }
        double best = totals[candidates[0]];
        done = done || isDone(best, generated + 1);

        SequenceState[] nextSequences = new SequenceState[beams];
        float[][] nextLogprobs = new float[beams][];
        for (int b = 0; b < beams; b++) {
            SequenceState s = sequences[newSources[b]].copy();
            s.append(newTokens[b]);
            nextSequences[b] = s;
            nextLogprobs[b] = logprobs[newSources[b]].clone();
            nextLogprobs[b][generated] = processed[newSources[b]][newTokens[b]];
            nextTokens[b] = newTokens[b];
            sources[b] = newSources[b];
        }
        sequences = nextSequences;
        logprobs = nextLogprobs;
        beamScores = newScores;
        if (sequences[0].generatedCount() >= plan.maxNewTokens()) {
            lengthReached = true;
        }
    }

    private boolean isEos(int token) {
        for (int e : plan.eosTokenIds()) {
            if (e == token) {
                return true;
            }
        }
        return false;
    }

    private static float[] logSoftmax(float[] logits, int from, int vocab) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[from + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[from + i] - max);
        }
        float logSum = (float) (max + Math.log(sum));
        float[] out = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            out[i] = logits[from + i] - logSum;
        }
        return out;
    }

    /** The {@code k} highest totals, best first. */
    private static int[] topCandidates(double[] totals, int k) {
        Integer[] idx = new Integer[totals.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        // A partial selection would be faster; the sort keeps ties in index order like torch.topk on CPU.
        Arrays.sort(idx, Comparator.comparingDouble((Integer i) -> -totals[i]));
        int[] out = new int[Math.min(k, idx.length)];
        for (int i = 0; i < out.length; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    /** {@code k} draws without replacement from softmax(totals), then ordered by total, best first. */
    private int[] sampleCandidates(double[] totals, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (double t : totals) {
            max = Math.max(max, t);
        }
        double[] weights = new double[totals.length];
        double sum = 0;
        for (int i = 0; i < totals.length; i++) {
            weights[i] = Double.isInfinite(totals[i]) ? 0 : Math.exp(totals[i] - max);
            sum += weights[i];
        }
        List<Integer> drawn = new ArrayList<>();
        for (int n = 0; n < k && sum > 0; n++) {
            double r = random.nextDouble() * sum;
            int pick = -1;
            for (int i = 0; i < weights.length; i++) {
                if (weights[i] > 0) {
                    pick = i;
                    r -= weights[i];
                    if (r < 0) {
                        break;
                    }
                }
            }
            drawn.add(pick);
            sum -= weights[pick];
            weights[pick] = 0;
        }
        drawn.sort(Comparator.comparingDouble((Integer i) -> -totals[i]));
        return drawn.stream().mapToInt(Integer::intValue).toArray();
    }

    private void addHypothesis(int[] tokens, float[] lp, double sumLogprobs, int generatedLength, int eos) {
        double score = sumLogprobs / Math.pow(generatedLength, plan.lengthPenalty());
        if (hypotheses.size() < beams || score > worstScore) {
            hypotheses.add(new Hypothesis(score, tokens, lp, eos));
            if (hypotheses.size() > beams) {
                Hypothesis worst = hypotheses.stream().min(Comparator.comparingDouble(Hypothesis::score)).orElseThrow();
                hypotheses.remove(worst);
                worstScore = hypotheses.stream().mapToDouble(Hypothesis::score).min().orElseThrow();
            } else {
                worstScore = Math.min(score, worstScore);
            }
        }
    }

    private boolean isDone(double bestSumLogprobs, int generatedLength) {
        if (hypotheses.size() < beams) {
            return false;
        }
        return switch (plan.earlyStopping()) {
            case TRUE -> true;
            case FALSE -> worstScore >= bestSumLogprobs / Math.pow(generatedLength, plan.lengthPenalty());
            case NEVER -> worstScore >= bestSumLogprobs / Math.pow(
                    plan.lengthPenalty() > 0 ? plan.maxNewTokens() : generatedLength, plan.lengthPenalty());
        };
    }

    @Override
    public int lastToken(int row) {
        return sequences[row].lastToken();
    }

    @Override
    public int nextPosition(int row) {
        return sequences[row].length() - 1;
    }

    @Override
    public List<GeneratedSequence> results(TextDecoder decoder) {
        if (!done) {
            for (int b = 0; b < beams; b++) {
                addHypothesis(sequences[b].generated(), logprobs[b].clone(), beamScores[b],
                        sequences[b].generatedCount(), -1);
            }
        }
        List<Hypothesis> best = new ArrayList<>(hypotheses);
        best.sort(Comparator.comparingDouble(Hypothesis::score).reversed());
        int[] prompt = sequences[0].prompt();
        List<GeneratedSequence> out = new ArrayList<>();
        for (Hypothesis h : best.subList(0, Math.min(plan.numReturnSequences(), best.size()))) {
            int[] tokens = h.eos() >= 0 ? append(h.tokens(), h.eos()) : h.tokens();
            String text = decoder.generatedText(prompt, tokens);
            String stop = null;
            StopStrings stops = new StopStrings(plan.stopStrings());
            int[] match = stops.isEmpty() ? null : stops.find(text, 0);
            if (match != null) {
                text = text.substring(0, match[0]);
                stop = stops.get(match[1]);
            }
            FinishReason reason = stop != null ? FinishReason.STOP_SEQUENCE
                    : h.eos() >= 0 ? FinishReason.EOS_TOKEN : FinishReason.LENGTH;
            out.add(new GeneratedSequence(tokens, Arrays.copyOf(h.logprobs(), tokens.length), text, reason, stop,
                    h.score(), List.of()));
        }
        return out;
    }

    private static int[] append(int[] tokens, int token) {
        int[] out = Arrays.copyOf(tokens, tokens.length + 1);
        out[tokens.length] = token;
        return out;
    }
}
