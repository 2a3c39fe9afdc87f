package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.weights.UnsafePickleException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.json.JsonMapper;

/**
 * Real {@code torch.save} checkpoints (written by transformers' save_pretrained with
 * safe_serialization=False): each reproduces what transformers computed from it, and a pickle that
 * would run a command is refused without running it.
 */
class PytorchBinGoldenTest {
    static final Path FIXTURES = Path.of("src/test/resources/checkpoints-bin").toAbsolutePath();

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
    }

    static GoldenReference golden(String fixture) {
        Path dir = FIXTURES.resolve(fixture);
        return new GoldenReference(dir, JsonMapper.builder().build().readTree(dir.resolve("golden.json").toFile()));
    }

    static Stream<Arguments> fixtures() {
        return Stream.of(
                Arguments.of("llama_f32", DataType.FLOAT32, 1e-4),
                Arguments.of("llama_f32", DataType.FLOAT16, 2e-2),
                Arguments.of("gpt2_f32_legacy_names", DataType.FLOAT32, 1e-4),
                Arguments.of("gpt2_f32_legacy_names", DataType.FLOAT16, 2e-2),
                // The half-precision goldens were computed from the rounded weights upcast to float32.
                Arguments.of("llama_f16_sharded", DataType.FLOAT32, 1e-4),
                Arguments.of("llama_f16_sharded", DataType.FLOAT16, 2e-2),
                Arguments.of("llama_bf16", DataType.FLOAT32, 1e-4),
                Arguments.of("llama_bf16", DataType.FLOAT16, 2e-2));
    }

    @ParameterizedTest(name = "{0} served in {1}")
    @MethodSource("fixtures")
    void reproducesTransformersLogitsAndEveryGreedyToken(String fixture, DataType dtype, double tolerance) {
        GoldenReference golden = golden(fixture);
        assertThat(Files.exists(golden.directory().resolve("model.safetensors"))).isFalse();
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), dtype)) {
            float[] logits = LastLogits.of(loaded, golden.inputIds());
            assertThat(logits).hasSameSizeAs(golden.lastLogits());
            assertThat(LastLogits.maxDiff(logits, golden.lastLogits())).as("max |logit - reference|")
                    .isLessThan(tolerance);
            List<GeneratedSequence> out = GoldenModelTest.generate(loaded, List.of(golden.inputIds()),
                    loaded.generationDefaults().overlay(GoldenModelTest.parse("{\"max_new_tokens\": 20}")));
            assertThat(out.get(0).tokens()).containsExactly(golden.greedyNewIds());
        }
    }

    @Test
    void aPickleThatWouldRunACommandIsRefusedAndNothingRuns() throws Exception {
        Path pwned = Path.of("/tmp/pwned");
        Files.deleteIfExists(pwned);
        assertThatThrownBy(() -> ModelLoader.load(FIXTURES.resolve("malicious"), DataType.FLOAT32))
                .isInstanceOf(UnsafePickleException.class)
                .hasMessage("pytorch_model.bin: refusing to load: the pickle calls posix.system (only tensors are allowed)");
        assertThat(pwned).as("the command in the pickle ran").doesNotExist();
    }
}
