package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.GenerationLimits;
import io.github.transformerslm.generation.GenerationPlan;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.Generator;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * Each architecture against what transformers computed from the same files: the logits of the last
 * prompt position, every greedy token, the left-padded batch and the generate() cases.
 */
class GoldenModelTest {
    static final List<String> ARCHITECTURES = List.of(
            "gpt2", "llama", "mistral", "qwen2", "gptj", "gpt_neox", "falcon", "phi", "phi3", "bloom", "xglm",
            "falcon_serial_alibi", "mistral_yarn");
    static final GenerationLimits LIMITS = new GenerationLimits(1024, 8, 20);

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
    }

    @org.junit.jupiter.api.Test
    void theProductsRunWhereThisJvmWasSent() {
        // The default execution runs the golden models through the vector kernels over packed weights; the
        // libtorch-products execution (pom.xml) turns them off, the path a GPU or a JVM without the Vector API takes.
        assertThat(io.github.transformerslm.model.nn.Linear.vectorKernels())
                .isEqualTo(!Boolean.getBoolean("lm.vectorKernels.disabled"));
    }

    static Stream<Arguments> float32AndFloat16() {
        return ARCHITECTURES.stream().flatMap(a -> Stream.of(
                Arguments.of(a, DataType.FLOAT32, 1e-4), Arguments.of(a, DataType.FLOAT16, 2e-2)));
    }

    static Stream<String> architectures() {
        return ARCHITECTURES.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("float32AndFloat16")
    void lastLogitsMatchTransformers(String arch, DataType dtype, double tolerance) {
        GoldenReference golden = GoldenReference.of(arch);
        float[] logits = LastLogits.of(golden.directory(), dtype, golden.inputIds());
        float[] expected = golden.lastLogits();
        assertThat(logits).hasSameSizeAs(expected);
        assertThat(LastLogits.maxDiff(logits, expected)).as("max |logit - reference| for %s %s", arch, dtype)
                .isLessThan(tolerance);
    }

    @ParameterizedTest
    @MethodSource("architectures")
    void greedyTokensMatchTransformers(String arch) {
        GoldenReference golden = GoldenReference.of(arch);
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), DataType.FLOAT32)) {
            int[] expected = golden.greedyNewIds();
            GenerationConfig config = loaded.generationDefaults().overlay(parse("{\"max_new_tokens\": 20}"));
            List<GeneratedSequence> out = generate(loaded, List.of(golden.inputIds()), config);
            assertThat(out.get(0).tokens()).containsExactly(expected);
        }
    }

    @ParameterizedTest
    @MethodSource("architectures")
    void leftPaddedBatchGivesEachRowItsOwnResult(String arch) {
        GoldenReference golden = GoldenReference.of(arch);
        JsonNode batch = golden.batch();
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), DataType.FLOAT32)) {
            List<int[]> prompts = new ArrayList<>();
            batch.get("rows").forEach(r -> prompts.add(GoldenReference.ints(r)));
            GenerationConfig config = loaded.generationDefaults()
                    .overlay(parse("{\"max_new_tokens\": " + batch.get("max_new_tokens").intValue() + "}"));
            List<GeneratedSequence> out = generate(loaded, prompts, config);
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(out.get(i).tokens()).as("row %d", i)
                        .containsExactly(GoldenReference.ints(batch.get("greedy_new_ids").get(i)));
            }
        }
    }

    /** The generate() cases whose parameters this layer implements. */
    static final Set<String> SUPPORTED = GenerationConfigParser.knownKeys();

    static Stream<Arguments> generateCases() {
        List<Arguments> out = new ArrayList<>();
        for (String arch : ARCHITECTURES) {
            for (JsonNode c : GoldenReference.of(arch).generateCases()) {
                List<String> keys = new ArrayList<>();
                c.get("parameters").propertyNames().forEach(keys::add);
                if (SUPPORTED.containsAll(keys)) {
                    out.add(Arguments.of(arch, c.get("parameters").toString(), c));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("generateCases")
    void generateCasesMatchTransformers(String arch, String parameters, JsonNode expected) {
        try (LoadedModel loaded = ModelLoader.load(GoldenReference.directory(arch), DataType.FLOAT32)) {
            GenerationConfig config = loaded.generationDefaults().overlay(parse(parameters));
            List<GeneratedSequence> out = generate(loaded, List.of(GoldenReference.of(arch).inputIds()), config);
            JsonNode newIds = expected.get("new_ids");
            assertThat(out).hasSize(newIds.size());
            for (int i = 0; i < newIds.size(); i++) {
                assertThat(out.get(i).tokens()).as("sequence %d", i).containsExactly(GoldenReference.ints(newIds.get(i)));
                if (expected.has("sequences_scores")) {
                    assertThat(out.get(i).score()).as("score of sequence %d", i)
                            .isCloseTo(expected.get("sequences_scores").get(i).doubleValue(), org.assertj.core.data.Offset.offset(1e-4));
                }
            }
        }
    }

    static GenerationConfig parse(String json) {
        return GenerationConfigParser.parse(tools.jackson.databind.json.JsonMapper.builder().build().readTree(json));
    }

    static List<GeneratedSequence> generate(LoadedModel loaded, List<int[]> prompts, GenerationConfig config) {
        List<GenerationRow> rows = new ArrayList<>();
        for (int[] p : prompts) {
            GenerationPlan plan = GenerationPlan.resolve(config, p.length, loaded.model().shape().maxPositions(),
                    LIMITS, io.github.transformerslm.generation.ServiceStops.NONE);
            rows.add(new GenerationRow(p, plan, new SplittableRandom(0)));
        }
        return new Generator(loaded.model(), loaded.tokenizer()).generate(loaded.manager(), rows).stream()
                .flatMap(List::stream).toList();
    }
}
