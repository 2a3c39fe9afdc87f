package io.github.transformerslm.serving;

import io.github.transformerslm.runtime.TorchRuntime;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.generation.FinishReason;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GenerationLimits;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.Generator;
import io.github.transformerslm.generation.ServiceStops;
import io.github.transformerslm.model.GoldenReference;
import io.github.transformerslm.tokenizer.TextTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.json.JsonMapper;

/** ADDITIONAL_EOS_TOKENS and stop strings match the text, as Dream's `stop in decoded_text` does. */
class AdditionalEosTokensTest {
    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
    }

    @Test
    void everyValueIsMatchedInTheTextAndOnlySpecialTokensById() {
        try (TextTokenizer gpt2 = TextTokenizer.load(Path.of("src/test/resources/gpt2-random"))) {
            // "you" is GPT-2 token 5832, but after "How are" the model emits " you" (345): only text matching stops it.
            assertThat(gpt2.singleTokenId("you")).contains(5832);
            ServiceStops stops = CompletionService.stopsFor(List.of("you", " you", "ow are", "<|endoftext|>"), gpt2);
            assertThat(stops.strings()).containsExactly("you", " you", "ow are");
            assertThat(stops.eosTokenIds()).containsExactly(50256);
        }
    }

    /** The golden GPT-2's greedy text begins "t491 t131 t352 ...". */
    @ParameterizedTest(name = "''{0}''")
    @CsvSource(delimiter = '|', value = {
            "t35|t491 t131", // the start of a longer token, t352
            "1 t35|t491 t13", // split across tokens: the end of t131 and the start of t352
            "' t131'|t491", // begins with a space
    })
    void aValueStopsAndCutsTheTextWhereverItOccurs(String value, String expectedText) {
        GoldenReference golden = GoldenReference.of("gpt2");
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), DataType.FLOAT32)) {
            ServiceStops stops = CompletionService.stopsFor(List.of(value), loaded.tokenizer());
            GenerationConfig config = GenerationConfigParser.parse(JsonMapper.builder().build()
                    .readTree("{\"max_new_tokens\": 20}"));
            GenerationPlan plan = GenerationPlan.resolve(config, golden.inputIds().length, 1024,
                    new GenerationLimits(1024, 8, 20), stops);
            GeneratedSequence out = new Generator(loaded.model(), loaded.tokenizer()).generate(loaded.manager(),
                    List.of(new GenerationRow(golden.inputIds(), plan, new SplittableRandom(0)))).get(0).get(0);
            assertThat(out.finishReason()).isEqualTo(FinishReason.STOP_SEQUENCE);
            assertThat(out.text().strip()).isEqualTo(expectedText);
            assertThat(out.tokens().length).isLessThan(5);
        }
    }
}
