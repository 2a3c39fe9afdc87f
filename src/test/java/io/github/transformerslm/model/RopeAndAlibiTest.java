package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.github.transformerslm.model.nn.RopeScaling;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Rotary scalings and ALiBi slopes against values worked out by hand from transformers 4.47
 * ({@code modeling_rope_utils.py}, {@code build_alibi_tensor}) for dim 8 and base 10000, where the
 * default inverse frequencies are exactly 1, 0.1, 0.01 and 0.001.
 */
class RopeAndAlibiTest {
    static JsonNode json(String s) {
        return JsonMapper.builder().build().readTree(s);
    }

    static void assertInverse(RopeScaling.Frequencies f, double... expected) {
        assertThat(f.inverse()).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) f.inverse()[i]).as("inv_freq[%d]", i).isCloseTo(expected[i], within(expected[i] * 1e-5));
        }
    }

    @Test
    void defaultAndLinear() {
        assertInverse(RopeScaling.fromConfig(null, 10000, 8, 16, 0).at(5), 1, 0.1, 0.01, 0.001);
        assertInverse(RopeScaling.fromConfig(json("{\"type\": \"linear\", \"factor\": 4.0}"), 10000, 8, 16, 0).at(5),
                0.25, 0.025, 0.0025, 0.00025);
    }

    @Test
    void dynamicNtkChangesTheBaseOnlyBeyondTheTrainedLength() {
        RopeScaling dynamic = RopeScaling.fromConfig(json("{\"rope_type\": \"dynamic\", \"factor\": 2.0}"), 10000, 8, 16, 0);
        assertInverse(dynamic.at(16), 1, 0.1, 0.01, 0.001);
        // base' = 10000 * (2*32/16 - 1)^(8/6) = 43267.487; inv[i] = base'^(-2i/8)
        double base = 10000 * Math.pow(3, 8.0 / 6);
        assertInverse(dynamic.at(32), 1, Math.pow(base, -0.25), Math.pow(base, -0.5), Math.pow(base, -0.75));
        assertThat(Math.pow(base, -0.25)).isCloseTo(0.069336, within(1e-6));
    }

    @Test
    void yarnRampsBetweenExtrapolationAndInterpolation() {
        // correction range for beta_fast 32, beta_slow 1, max 16: low = 0, high = 1 → only dim 0 extrapolates.
        RopeScaling.Frequencies f = RopeScaling.fromConfig(json("{\"type\": \"yarn\", \"factor\": 4.0}"), 10000, 8, 16, 0)
                .at(5);
        assertInverse(f, 1, 0.025, 0.0025, 0.00025);
        assertThat((double) f.attentionScaling()).isCloseTo(0.1 * Math.log(4) + 1, within(1e-6)); // 1.138629
    }

    @Test
    void llama3SmoothsMediumFrequencies() {
        // old context 64: wavelengths 6.28 (kept), 62.8 (smoothed), 628 and 6283 (divided by 8).
        RopeScaling.Frequencies f = RopeScaling.fromConfig(json("{\"rope_type\": \"llama3\", \"factor\": 8.0,"
                + " \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 64}"),
                10000, 8, 128, 0).at(5);
        assertInverse(f, 1, 0.01304226, 0.00125, 0.000125);
    }

    @Test
    void longRopeSwitchesToLongFactorsPastTheOriginalContext() {
        RopeScaling rope = RopeScaling.fromConfig(json("{\"type\": \"su\", \"short_factor\": [1, 1, 1, 1],"
                + " \"long_factor\": [2, 2, 2, 2]}"), 10000, 8, 32, 16);
        assertInverse(rope.at(16), 1, 0.1, 0.01, 0.001);
        assertInverse(rope.at(17), 0.5, 0.05, 0.005, 0.0005);
        // attention factor sqrt(1 + ln(32/16) / ln(16)) = sqrt(1.25)
        assertThat((double) rope.at(17).attentionScaling()).isCloseTo(Math.sqrt(1.25), within(1e-6));
    }

    @Test
    void alibiSlopesFollowBloomForPowersOfTwoAndOtherHeadCounts() throws Exception {
        var slopes = io.github.transformerslm.model.nn.Alibi.class.getDeclaredMethod("slopes", int.class);
        slopes.setAccessible(true);
        assertThat((float[]) slopes.invoke(null, 4)).containsExactly(0.25f, 0.0625f, 0.015625f, 0.00390625f);
        // 6 heads: the 4-head slopes, then 0.5^1 and 0.5^3 from the 8-head base.
        assertThat((float[]) slopes.invoke(null, 6)).containsExactly(0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f);
    }
}
