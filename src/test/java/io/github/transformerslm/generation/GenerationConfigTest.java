package io.github.transformerslm.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class GenerationConfigTest {
    static final GenerationLimits LIMITS = new GenerationLimits(100, 4, 20);

    static GenerationConfig parse(String json) {
        return GenerationConfigParser.parse(JsonMapper.builder().build().readTree(json));
    }

    @Test
    void layersOverrideOnlyWhatTheySet() {
        GenerationConfig model = parse("{\"eos_token_id\": 2, \"temperature\": 0.7}");
        GenerationConfig service = parse("{\"max_new_tokens\": 120, \"do_sample\": true, \"num_return_sequences\": 2}");
        GenerationConfig request = parse("{\"max_new_tokens\": 10}");
        GenerationConfig merged = GenerationConfig.TRANSFORMERS_DEFAULTS.overlay(model).overlay(service).overlay(request);
        assertThat(merged.maxNewTokens()).isEqualTo(10);
        assertThat(merged.numReturnSequences()).isEqualTo(2);
        assertThat(merged.doSample()).isTrue();
        assertThat(merged.temperature()).isEqualTo(0.7);
        assertThat(merged.topK()).isEqualTo(50);
        assertThat(merged.eosTokenId()).containsExactly(2);
    }

    @Test
    void unknownKeysAreRefusedByName() {
        assertThatThrownBy(() -> parse("{\"temprature\": 0.5}")).isInstanceOf(UnknownParameterException.class)
                .satisfies(e -> assertThat(((InvalidParameterException) e).field()).isEqualTo("temprature"));
    }

    @Test
    void wrongTypesNameTheKey() {
        assertThatThrownBy(() -> parse("{\"max_new_tokens\": \"ten\"}")).isInstanceOf(InvalidParameterException.class)
                .hasMessageContaining("max_new_tokens");
        assertThatThrownBy(() -> parse("{\"do_sample\": 1}")).hasMessageContaining("do_sample");
        assertThatThrownBy(() -> parse("{\"stop\": [\"\"]}")).hasMessageContaining("stop");
    }

    @Test
    void eosTokenIdTakesAnIntOrAList() {
        assertThat(parse("{\"eos_token_id\": 5}").eosTokenId()).containsExactly(5);
        assertThat(parse("{\"eos_token_id\": [5, 7]}").eosTokenId()).containsExactly(5, 7);
    }

    @Test
    void modelFileKeysThatAreNotImplementedAreReportedNotFatal() {
        List<String> unsupported = new ArrayList<>();
        GenerationConfig c = GenerationConfigParser.parseModelFile(JsonMapper.builder().build()
                .readTree("{\"transformers_version\": \"4.47.1\", \"bos_token_id\": 1, \"guidance_scale\": 2, \"eos_token_id\": 2}"),
                unsupported);
        assertThat(unsupported).containsExactly("guidance_scale");
        assertThat(c.eosTokenId()).containsExactly(2);
    }

    @Test
    void planRefusesOutOfRangeValuesNamingTheKey() {
        assertKey("{\"max_new_tokens\": 101}", "max_new_tokens");
        assertKey("{\"max_new_tokens\": 0}", "max_new_tokens");
        assertKey("{\"temperature\": -1}", "temperature");
        assertKey("{\"top_p\": 1.5, \"do_sample\": true}", "top_p");
        assertKey("{\"top_p\": 0}", "top_p");
        assertKey("{\"top_k\": -1}", "top_k");
        assertKey("{\"repetition_penalty\": 0}", "repetition_penalty");
        assertKey("{\"num_return_sequences\": 5}", "num_return_sequences");
        assertKey("{\"min_new_tokens\": -1}", "min_new_tokens");
        assertKey("{\"max_length\": 3}", "max_length");
    }

    @Test
    void promptPlusNewTokensBeyondTheContextNamesBothNumbers() {
        assertThatThrownBy(() -> GenerationPlan.resolve(parse("{\"max_new_tokens\": 50}"), 90, 128, LIMITS,
                ServiceStops.NONE)).hasMessageContaining("90").hasMessageContaining("50").hasMessageContaining("128");
    }

    @Test
    void maxLengthCountsThePrompt() {
        GenerationPlan plan = GenerationPlan.resolve(parse("{\"max_length\": 60}"), 10, 1024, LIMITS, ServiceStops.NONE);
        assertThat(plan.maxNewTokens()).isEqualTo(50);
    }

    @Test
    void temperatureZeroIsGreedyAndServiceStopsJoinTheRequestsOwn() {
        GenerationPlan plan = GenerationPlan.resolve(parse("{\"do_sample\": true, \"temperature\": 0, \"stop\": [\"\\n\"],"
                + " \"eos_token_id\": 2}"), 3, 1024, LIMITS, new ServiceStops(List.of(9), List.of("Human:")));
        assertThat(plan.sampling()).isFalse();
        assertThat(plan.stopStrings()).containsExactly("Human:", "\n");
        assertThat(plan.eosTokenIds()).containsExactly(2, 9);
    }

    static void assertKey(String json, String key) {
        assertThatThrownBy(() -> GenerationPlan.resolve(GenerationConfig.TRANSFORMERS_DEFAULTS.overlay(parse(json)), 5,
                1024, LIMITS, ServiceStops.NONE))
                .isInstanceOf(InvalidParameterException.class)
                .satisfies(e -> assertThat(((InvalidParameterException) e).field()).isEqualTo(key));
    }
}
