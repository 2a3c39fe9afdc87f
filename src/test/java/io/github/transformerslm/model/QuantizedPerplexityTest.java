package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.generation.Perplexity;
import io.github.transformerslm.model.nn.Quantization;
import io.github.transformerslm.runtime.TorchRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What QUANTIZE costs in accuracy on stories260K, a really trained model: perplexity over a text of more
 * than 2,000 tokens (src/test/resources/perplexity, written for this project in TinyStories' style, one
 * story per sequence after BOS), within 2% of float32 for int8 and 15% for int4, with the head at 8 bits
 * or at 4; float16 within 0.1%; and how much of the 60-token greedy continuation of the golden prompt
 * agrees with float32's, which is printed. The README's accuracy table comes from this test's output.
 * About 20,000 decode steps: an integration test.
 */
@Tag("integration")
class QuantizedPerplexityTest {
    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
    }

    @Test
    void perplexityOfQuantizedWeightsStaysNearFloat32() {
        List<String> stories = Arrays.stream(QuantizedModelTest.readText().split("\n\\s*\n")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        Map<String, Perplexity.Result> results = new LinkedHashMap<>();
        Map<String, Integer> agreement = new LinkedHashMap<>();
        GoldenReference golden = Stories260KTest.golden();
        int[] float32Greedy = null;
        record Mode(String name, DataType dtype, Quantization quantization, Quantization head) {}
        for (Mode mode : List.of(new Mode("float32", DataType.FLOAT32, Quantization.NONE, Quantization.NONE),
                new Mode("float16", DataType.FLOAT16, Quantization.NONE, Quantization.NONE),
                new Mode("int8", DataType.FLOAT32, Quantization.INT8, Quantization.INT8),
                new Mode("int4", DataType.FLOAT32, Quantization.INT4, Quantization.INT8),
                new Mode("int4 (head int4)", DataType.FLOAT32, Quantization.INT4, Quantization.INT4))) {
            try (LoadedModel model = ModelLoader.load(Stories260KTest.MODEL, mode.dtype(), mode.quantization(), mode.head());
                    NDManager manager = NDManager.newBaseManager()) {
                List<int[]> sequences = new ArrayList<>();
                for (String story : stories) {
                    sequences.add(model.tokenizer().encode(story)); // BOS first, as the model was trained
                }
                results.put(mode.name(), Perplexity.of(model.model(), manager, sequences));
                int[] tokens = QuantizedModelTest.greedy(model, golden);
                if (float32Greedy == null) {
                    float32Greedy = tokens;
                    assertThat(tokens).as("float32 writes transformers' story").containsExactly(golden.greedyNewIds());
                }
                agreement.put(mode.name(), QuantizedModelTest.leadingAgreement(tokens, float32Greedy));
            }
        }
        double reference = results.get("float32").perplexity();
        StringBuilder table = new StringBuilder("perplexity over " + results.get("float32").tokens() + " tokens:\n");
        results.forEach((name, r) -> table.append(String.format("  %-17s %8.4f (%+.2f%%), greedy agrees with float32 for %d of 60 tokens%n",
                name, r.perplexity(), 100 * (r.perplexity() / reference - 1), agreement.get(name))));
        System.out.print(table);

        assertThat(results.get("float32").tokens()).as("tokens scored").isGreaterThanOrEqualTo(2000);
        assertThat(results.get("int8").perplexity()).as(table.toString()).isLessThanOrEqualTo(reference * 1.02);
        assertThat(results.get("int4").perplexity()).as(table.toString()).isLessThanOrEqualTo(reference * 1.15);
        assertThat(results.get("int4 (head int4)").perplexity()).as(table.toString()).isLessThanOrEqualTo(reference * 1.15);
        assertThat(results.get("float16").perplexity()).as(table.toString()).isCloseTo(reference, org.assertj.core.data.Offset.offset(reference * 0.001));
    }

}
