package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.generation.GeneratedSequence;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.json.JsonMapper;

/**
 * stories260K, a model that was really trained (the bundled default), against what transformers computed
 * from it: the prompt's tokens, the last logits, and all 60 greedy tokens, in float32 and float16. The
 * smallest gap between the best two logits of that run is 0.07, so float16 must stay well inside it.
 */
class Stories260KTest {
    static final Path MODEL = Path.of("src/main/resources/default-model").toAbsolutePath();

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
    }

    static GoldenReference golden() {
        return new GoldenReference(MODEL, JsonMapper.builder().build()
                .readTree(Path.of("src/test/resources/stories260K/golden.json").toFile()));
    }

    @ParameterizedTest
    @CsvSource({"FLOAT32, 1e-4", "FLOAT16, 2e-2"})
    void writesTheStoryTransformersWrites(DataType dtype, double tolerance) {
        GoldenReference golden = golden();
        try (LoadedModel loaded = ModelLoader.load(MODEL, dtype)) {
            assertThat(loaded.tokenizer().encode(golden.json().get("input_text").asString()))
                    .containsExactly(golden.inputIds());
            float[] logits = LastLogits.of(loaded, golden.inputIds());
            assertThat(LastLogits.maxDiff(logits, golden.lastLogits())).isLessThan(tolerance);
            List<GeneratedSequence> out = GoldenModelTest.generate(loaded, List.of(golden.inputIds()),
                    loaded.generationDefaults().overlay(GoldenModelTest.parse("{\"max_new_tokens\": 60}")));
            assertThat(out.get(0).tokens()).hasSize(60).containsExactly(golden.greedyNewIds());
        }
    }
}
