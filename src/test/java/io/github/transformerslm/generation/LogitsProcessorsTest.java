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
}
