package io.github.transformerslm.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The decode attention's softmax (its products are tested through the KV cache in SlotKvCacheAttentionTest). */
class DecodeAttentionTest {

    @Test
    void softmaxGivesNoSubnormalWeight() {
        // Scores more than about 87 under the largest would weigh less than the smallest normal float; a
        // subnormal weight costs a microcode assist in every multiply-add of the weighted sum, so they are 0.
        int columns = 37; // whole vectors and a scalar tail on either vector width
        float[] scores = new float[columns];
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        for (int j = 0; j < columns; j++) {
            scores[j] = (float) random.nextDouble(-6, 6);
        }
        scores[2] = -95f; // exp(-95 - max) is subnormal: in a vector
        scores[11] = -130f; // and past where exp stays above 0 at all
        scores[20] = Float.NEGATIVE_INFINITY; // a masked column
        scores[35] = -90f; // in the scalar tail
        scores[36] = -80f; // small but normal: kept
        float[] weights = scores.clone();

        DecodeAttention.softmax(weights, columns);

        double max = Double.NEGATIVE_INFINITY;
        for (float s : scores) {
            max = Math.max(max, s);
        }
        double sum = 0;
        for (float s : scores) {
            sum += Math.exp(s - max);
        }
        for (int j = 0; j < columns; j++) {
            double expected = Math.exp(scores[j] - max) / sum;
            if (expected < Float.MIN_NORMAL) {
                assertThat(weights[j]).as("column %d (score %s)", j, scores[j]).isZero();
            } else {
                assertThat((double) weights[j]).as("column %d", j).isCloseTo(expected, within(expected * 1e-5));
            }
        }
        assertThat(weights[36]).as("a weight above the smallest normal float").isPositive();
    }
}
