package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.model.nn.Dequantized;
import io.github.transformerslm.model.nn.Quantization;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.weights.Checkpoint;
import io.github.transformerslm.weights.SafetensorsWriter;
import io.github.transformerslm.weights.TensorDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * QUANTIZE on stories260K, a really trained model: a quantized model must compute what the float32 model
 * computes with every quantized matrix replaced by its dequantized values (written out as a float32
 * checkpoint and served without QUANTIZE, through the float32 kernels).
 *
 * <p>int8: both are float32 arithmetic over the same weights and differ only in the order of the
 * additions, so the float32 golden tolerance (1e-4 on the logits) applies unchanged, and every one of the 60
 * greedy tokens must agree (the smallest gap between the best two logits in the float32 golden run is 0.07,
 * three orders of magnitude above that tolerance).
 *
 * <p>int4 also rounds each product's input to 8 bits per block of 32, as llama.cpp's Q4_0 products do: an
 * input moves by at most half a step of its block's largest magnitude / 127, 0.4% of that magnitude. The
 * logits may depart from the dequantized model's by five times that, 2% of their range, for the products
 * of several layers compounding it (measured: 0.7 to 1.2%); a wrong scale, pairing of inputs or offset
 * moves a product by tens of percent. What the rounding is exactly is checked where it is computed: a
 * prompt's logits (panels widened to float32 times inputs on the grid) equal those of decoding the same
 * tokens one at a time (16-bit integer products) within the float32 tolerance, and QuantizedPanelsTest
 * compares each product with one computed in double.
 *
 * <p>What quantization itself costs is {@link QuantizedPerplexityTest}'s.
 */
class QuantizedModelTest {
    static final Path MODEL = Stories260KTest.MODEL;
    static final Path TEXT = Path.of("src/test/resources/perplexity/tinystories-style.txt");

    @TempDir
    static Path temp;

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
    }

    @ParameterizedTest(name = "QUANTIZE={0} QUANTIZE_HEAD={1}")
    @CsvSource({"INT8, INT8", "INT4, INT8", "INT4, INT4"})
    void aQuantizedModelComputesItsDequantizedWeights(Quantization quantization, Quantization head) throws IOException {
        GoldenReference golden = Stories260KTest.golden();
        assertComputesItsDequantizedWeights(MODEL, golden, quantization, head);
    }

    /** golden/llama has an input embedding table of its own beside its head: both are held like the head. */
    @ParameterizedTest(name = "QUANTIZE={0} QUANTIZE_HEAD={1}")
    @CsvSource({"INT8, INT8", "INT4, INT8"})
    void untiedEmbeddingsAreQuantizedLikeTheHead(Quantization quantization, Quantization head) throws IOException {
        GoldenReference golden = GoldenReference.of("llama");
        assertComputesItsDequantizedWeights(GoldenReference.directory("llama"), golden, quantization, head);
    }

    static void assertComputesItsDequantizedWeights(Path model, GoldenReference golden, Quantization quantization,
            Quantization head) throws IOException {
        Path reference = dequantizedCopy(model, quantization, head);
        try (LoadedModel quantized = ModelLoader.load(model, DataType.FLOAT32, quantization, head);
                LoadedModel dequantized = ModelLoader.load(reference, DataType.FLOAT32)) {
            float[] expected = LastLogits.of(dequantized, golden.inputIds());
            float[] actual = LastLogits.of(quantized, golden.inputIds());
            if (quantization == Quantization.INT4) {
                assertThat(LastLogits.maxDiff(actual, expected)).as("int4 inputs on their 8-bit grid")
                        .isLessThan(0.02 * range(expected));
                assertThat(LastLogits.maxDiff(LastLogits.decoded(quantized, golden.inputIds()), actual))
                        .as("the prompt's kernels and decoding's integer kernels").isLessThan(1e-4);
            } else {
                assertThat(LastLogits.maxDiff(actual, expected)).isLessThan(1e-4);
                assertThat(greedy(quantized, golden)).containsExactly(greedy(dequantized, golden));
            }
        }
    }

    static double range(float[] values) {
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (float v : values) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return hi - lo;
    }

    /** How many of the first tokens of a and b agree. */
    static int leadingAgreement(int[] a, int[] b) {
        int n = 0;
        while (n < Math.min(a.length, b.length) && a[n] == b[n]) {
            n++;
        }
        return n;
    }

    static int[] greedy(LoadedModel model, GoldenReference golden) {
        List<GeneratedSequence> out = GoldenModelTest.generate(model, List.of(golden.inputIds()),
                model.generationDefaults().overlay(GoldenModelTest.parse("{\"max_new_tokens\": 60}")));
        return out.get(0).tokens();
    }

    static String readText() {
        try {
            return Files.readString(TEXT);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * A Llama with every matrix QUANTIZE would quantize (the projections, the head and the input embedding
     * table) replaced by its dequantized values, as a float32 checkpoint.
     */
    static Path dequantizedCopy(Path model, Quantization quantization, Quantization head) throws IOException {
        Path dir = temp.resolve(model.getFileName() + "-" + quantization.label() + "-head-" + head.label());
        Files.createDirectories(dir);
        SafetensorsWriter writer = new SafetensorsWriter();
        try (Checkpoint checkpoint = Checkpoint.open(model); NDManager manager = NDManager.newBaseManager()) {
            for (String name : new java.util.TreeSet<>(checkpoint.names())) {
                long[] shape = checkpoint.shape(name);
                float[] values = checkpoint.load(name, manager, DataType.FLOAT32).toFloatArray();
                Quantization q = name.endsWith("_proj.weight") ? quantization
                        : name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight") ? head : Quantization.NONE;
                if (q != Quantization.NONE) {
                    values = Dequantized.of(values, (int) shape[0], (int) shape[1], q, manager);
                }
                writer.add(name, shape, values, TensorDtype.F32);
            }
        }
        writer.write(dir.resolve("model.safetensors"));
        try (var files = Files.list(model)) {
            for (Path f : files.filter(f -> !f.getFileName().toString().endsWith(".safetensors")).toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }
}
