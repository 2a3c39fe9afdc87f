package io.github.transformerslm.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.transformerslm.generation.processors.MinNewTokensProcessor;
import io.github.transformerslm.generation.processors.RepetitionPenaltyProcessor;
import io.github.transformerslm.generation.processors.TemperatureProcessor;
import io.github.transformerslm.generation.processors.TopKProcessor;
import io.github.transformerslm.generation.processors.TopPProcessor;
import io.github.transformerslm.generation.sampling.GreedySampler;
import io.github.transformerslm.generation.sampling.MultinomialSampler;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Each processor on hand-made scores, with values worked out from transformers' definitions. */
class LogitsProcessorsTest {
    static final float NEG_INF = Float.NEGATIVE_INFINITY;

    static SequenceState sequence(int[] prompt, int... generated) {
        SequenceState s = new SequenceState(prompt, 8);
        for (int g : generated) {
            s.append(g);
        }
        return s;
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeScoresOfSeenTokensOnce() {
        float[] scores = {2f, -2f, 3f, 1f};
        new RepetitionPenaltyProcessor(2.0).process(sequence(new int[] {0, 1, 0}, 1), scores);
        assertThat(scores).containsExactly(1f, -4f, 3f, 1f);
    }

    @Test
    void repetitionPenaltyMustBePositive() {
        assertThatThrownBy(() -> new RepetitionPenaltyProcessor(0)).isInstanceOf(InvalidParameterException.class)
                .hasMessageContaining("repetition_penalty");
    }

    @Test
    void minNewTokensBansEosUntilEnoughTokensWereGenerated() {
        MinNewTokensProcessor p = MinNewTokensProcessor.minNewTokens(2, new int[] {3});
        float[] early = {0f, 0f, 0f, 5f};
        p.process(sequence(new int[] {1, 1, 1, 1}, 0), early);
        assertThat(early[3]).isEqualTo(NEG_INF);
        float[] late = {0f, 0f, 0f, 5f};
        p.process(sequence(new int[] {1}, 0, 0), late);
        assertThat(late[3]).isEqualTo(5f);
    }

    @Test
    void minLengthCountsThePrompt() {
        MinNewTokensProcessor p = MinNewTokensProcessor.minLength(3, new int[] {0});
        float[] scores = {5f, 1f};
        p.process(sequence(new int[] {1, 1, 1}), scores);
        assertThat(scores[0]).isEqualTo(5f);
    }

    @Test
    void temperatureDividesScores() {
        float[] scores = {1f, -2f};
        new TemperatureProcessor(0.5).process(sequence(new int[] {0}), scores);
        assertThat(scores).containsExactly(2f, -4f);
        assertThatThrownBy(() -> new TemperatureProcessor(-1)).hasMessageContaining("temperature");
    }

    @Test
    void topKKeepsTheKBestAndTiesWithTheKth() {
        float[] scores = {1f, 4f, 3f, 3f, 0f};
        new TopKProcessor(2, 1).process(sequence(new int[] {0}), scores);
        assertThat(scores).containsExactly(NEG_INF, 4f, 3f, 3f, NEG_INF);
        assertThatThrownBy(() -> new TopKProcessor(-3, 1)).hasMessageContaining("top_k");
    }

    @Test
    void topPKeepsTheSmallestSetAboveTheMass() {
        // probabilities 0.5, 0.25, 0.125, 0.125: top_p 0.7 keeps the first two (0.75 > 0.7).
        float[] scores = {(float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.125), (float) Math.log(0.125)};
        new TopPProcessor(0.7, 1).process(sequence(new int[] {0}), scores);
        assertThat(scores[0]).isFinite();
        assertThat(scores[1]).isFinite();
        assertThat(scores[2]).isEqualTo(NEG_INF);
        assertThat(scores[3]).isEqualTo(NEG_INF);
    }

    @Test
    void topPAlwaysKeepsMinTokensToKeep() {
        float[] scores = {10f, 1f, 0f};
        new TopPProcessor(0.1, 2).process(sequence(new int[] {0}), scores);
        assertThat(scores[0]).isFinite();
        assertThat(scores[1]).isFinite();
        assertThat(scores[2]).isEqualTo(NEG_INF);
    }

    @Test
    void topPOverAWholeVocabularyKeepsWhatTransformersRuleKeeps() {
        // The filter sorts only the tokens that can matter; the rule is transformers': sorted ascending (ties
        // by index), a token goes while the cumulative probability up to it is at most 1 - top_p, and the
        // last min_tokens_to_keep stay. Peaked, flat, tied and partly masked vocabularies of GPT-2's size.
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 16; trial++) {
            float[] scores = new float[50257];
            double spread = new double[] {0.5, 3, 12, 40}[trial % 4];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = (float) (random.nextGaussian() * spread);
                if (trial % 5 == 0 && i % 7 == 0) {
                    scores[i] = NEG_INF; // as top-k or bad words leave them
                }
                if (trial % 3 == 0 && i % 11 == 0) {
                    scores[i] = Math.round(scores[i]); // ties
                }
            }
            double topP = new double[] {0.9, 0.5, 0.99, 0.05}[trial % 4 == 3 ? 0 : trial % 4];
            int minKeep = trial % 8 == 7 ? 3000 : 1 + trial % 3;
            float[] expected = scores.clone();
            transformersTopP(expected, topP, minKeep);
            float[] actual = scores.clone();

            new TopPProcessor(topP, minKeep).process(sequence(new int[] {0}), actual);

            assertThat(actual).as("trial %d (spread %s, top_p %s, keep %d)", trial, spread, topP, minKeep).containsExactly(expected);
        }
    }

    /** transformers' TopPLogitsWarper, written plainly: a full stable sort of every finite score. */
    private static void transformersTopP(float[] scores, double topP, int minKeep) {
        float[] probs = io.github.transformerslm.generation.processors.Scores.softmax(scores);
        Integer[] order = java.util.stream.IntStream.range(0, scores.length).filter(i -> scores[i] != NEG_INF)
                .boxed().sorted((a, b) -> Float.compare(scores[a], scores[b])).toArray(Integer[]::new);
        double cumulative = 0;
        for (int rank = 0; rank < order.length - minKeep; rank++) {
            cumulative += probs[order[rank]];
            if (cumulative > 1 - topP) {
                break;
            }
            scores[order[rank]] = NEG_INF;
        }
    }

    @Test
    void topPOutsideTheUnitIntervalIsRefused() {
        assertThatThrownBy(() -> new TopPProcessor(1.5, 1)).isInstanceOf(InvalidParameterException.class)
                .hasMessageContaining("top_p");
        assertThatThrownBy(() -> new TopPProcessor(0, 1)).hasMessageContaining("top_p");
    }

    @Test
    void greedyTakesTheFirstMaximum() {
        assertThat(new GreedySampler().sample(new float[] {1f, 3f, 3f}, new SplittableRandom(1))).isEqualTo(1);
    }

    @Test
    void multinomialNeverDrawsMaskedTokensAndFollowsTheDistribution() {
        float[] scores = {NEG_INF, (float) Math.log(0.75), (float) Math.log(0.25), NEG_INF};
        SplittableRandom random = new SplittableRandom(7);
        int[] counts = new int[4];
        for (int i = 0; i < 20000; i++) {
            counts[new MultinomialSampler().sample(scores, random)]++;
        }
        assertThat(counts[0]).isZero();
        assertThat(counts[3]).isZero();
        assertThat(counts[1] / 20000.0).isBetween(0.73, 0.77);
    }

    @Test
    void noRepeatNGramBansTheTokenThatWouldRepeatABigram() {
        float[] scores = new float[6];
        // tokens 1 2 3 1: the bigram (1, 2) exists, so after a final 1 the token 2 is banned.
        new io.github.transformerslm.generation.processors.NoRepeatNGramProcessor(2)
                .process(sequence(new int[] {1, 2, 3, 1}), scores);
        assertThat(scores).containsExactly(0f, 0f, NEG_INF, 0f, 0f, 0f);
        assertThatThrownBy(() -> new io.github.transformerslm.generation.processors.NoRepeatNGramProcessor(0))
                .hasMessageContaining("no_repeat_ngram_size");
    }

    @Test
    void badWordsBanSingleTokensAlwaysAndSequencesAfterTheirPrefix() {
        var p = new io.github.transformerslm.generation.processors.NoBadWordsProcessor(
                java.util.List.of(java.util.List.of(4), java.util.List.of(1, 2, 5), java.util.List.of(3)), new int[] {3});
        float[] afterPrefix = new float[6];
        p.process(sequence(new int[] {0, 1, 2}), afterPrefix);
        assertThat(afterPrefix).containsExactly(0f, 0f, 0f, 0f, NEG_INF, NEG_INF); // [3] alone is the eos: kept
        float[] otherwise = new float[6];
        p.process(sequence(new int[] {0, 2, 1}), otherwise);
        assertThat(otherwise).containsExactly(0f, 0f, 0f, 0f, NEG_INF, 0f);
        assertThatThrownBy(() -> new io.github.transformerslm.generation.processors.NoBadWordsProcessor(
                java.util.List.of(java.util.List.of()), new int[0])).hasMessageContaining("bad_words_ids");
    }

    @Test
    void forcedEosLeavesOnlyEosAtTheLastPosition() {
        var p = new io.github.transformerslm.generation.processors.ForcedEosProcessor(3, new int[] {2});
        float[] last = {1f, 5f, -1f};
        p.process(sequence(new int[] {0}, 1, 1), last);
        assertThat(last).containsExactly(NEG_INF, NEG_INF, 0f);
        float[] earlier = {1f, 5f, -1f};
        p.process(sequence(new int[] {0}, 1), earlier);
        assertThat(earlier).containsExactly(1f, 5f, -1f);
    }

    @Test
    void minPRemovesTokensBelowAFractionOfTheTopProbability() {
        // probabilities 0.6, 0.3, 0.1: min_p 0.5 keeps those >= 0.3
        float[] scores = {(float) Math.log(0.6), (float) Math.log(0.3), (float) Math.log(0.1)};
        new io.github.transformerslm.generation.processors.MinPProcessor(0.5, 1).process(sequence(new int[] {0}), scores);
        assertThat(scores[1]).isFinite();
        assertThat(scores[2]).isEqualTo(NEG_INF);
        assertThatThrownBy(() -> new io.github.transformerslm.generation.processors.MinPProcessor(1.5, 1))
                .hasMessageContaining("min_p");
    }

    @Test
    void epsilonCutoffRemovesUnlikelyTokensButKeepsTheMinimum() {
        float[] scores = {(float) Math.log(0.9), (float) Math.log(0.08), (float) Math.log(0.02)};
        new io.github.transformerslm.generation.processors.EpsilonCutoffProcessor(0.05, 1).process(sequence(new int[] {0}), scores);
        assertThat(scores[1]).isFinite();
        assertThat(scores[2]).isEqualTo(NEG_INF);
        float[] all = {0f, 0f};
        new io.github.transformerslm.generation.processors.EpsilonCutoffProcessor(0.9, 1).process(sequence(new int[] {0}), all);
        assertThat(all[0]).isFinite();
        assertThat(all[1]).isEqualTo(NEG_INF);
        assertThatThrownBy(() -> new io.github.transformerslm.generation.processors.EpsilonCutoffProcessor(1, 1))
                .hasMessageContaining("epsilon_cutoff");
    }

    @Test
    void typicalKeepsTokensClosestToTheEntropy() {
        // p = 0.5, 0.25, 0.25: entropy 1.0397; surprises 0.693, 1.386, 1.386 → |shift| 0.347, 0.347, 0.347 (ties)
        // p = 0.7, 0.2, 0.1: entropy 0.8018; surprises 0.357, 1.609, 2.303 → shifts 0.445, 0.808, 1.501:
        // order 0, 1, 2; mass 0.5 is reached by token 0 alone, so only token 0 (and the cut at index 0) stay.
        float[] scores = {(float) Math.log(0.7), (float) Math.log(0.2), (float) Math.log(0.1)};
        new io.github.transformerslm.generation.processors.TypicalProcessor(0.5, 1).process(sequence(new int[] {0}), scores);
        assertThat(scores[0]).isFinite();
        assertThat(scores[1]).isEqualTo(NEG_INF);
        assertThat(scores[2]).isEqualTo(NEG_INF);
        assertThatThrownBy(() -> new io.github.transformerslm.generation.processors.TypicalProcessor(0, 1))
                .hasMessageContaining("typical_p");
    }

    @Test
    void logprobsOverAVocabularyMatchDoublePrecision() {
        // GPT-2's vocabulary size (not a multiple of the vector width), masked tokens, a wide spread of scores.
        SplittableRandom random = new SplittableRandom(3);
        float[] scores = new float[50257];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = i % 97 == 0 ? Float.NEGATIVE_INFINITY : (float) (random.nextGaussian() * 4);
        }
        scores[50256] = 30f; // the last, in the scalar tail, dominates
        double max = 30;
        double sum = 0;
        for (float s : scores) {
            sum += Math.exp(s - max);
        }
        double logSumExp = max + Math.log(sum);
        for (int i : new int[] {0, 1, 777, 50255, 50256}) {
            float expected = (float) (scores[i] - logSumExp);
            assertThat(io.github.transformerslm.generation.processors.Scores.logSoftmaxAt(scores, i)).as("token %d", i)
                    .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-5f * (1 + Math.abs(expected))));
        }
        var top = io.github.transformerslm.generation.processors.Scores.topLogprobs(scores, 3);
        assertThat(top).hasSize(3);
        assertThat(top.get(0).token()).isEqualTo(50256);
        assertThat(top.get(0).logprob()).isCloseTo((float) (30 - logSumExp), org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(top.get(1).logprob()).isLessThanOrEqualTo(top.get(0).logprob());
    }
}
