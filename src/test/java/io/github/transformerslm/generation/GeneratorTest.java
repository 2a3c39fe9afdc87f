package io.github.transformerslm.generation;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.model.GoldenReference;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The generator's token observer (what the benchmarks time decoding by) hears every token, in order, per request. */
class GeneratorTest {
    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    @Test
    void theObserverHearsEachRequestsTokensAsTheyAreReturned() {
        GoldenReference golden = GoldenReference.of("gpt2");
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), DataType.FLOAT32)) {
            int[] prompt = golden.inputIds();
            int[] shorter = java.util.Arrays.copyOf(prompt, Math.max(1, prompt.length - 2));
            List<List<Integer>> heard = List.of(new ArrayList<>(), new ArrayList<>());
            List<List<GeneratedSequence>> out = new Generator(loaded.model(), loaded.tokenizer()).generate(loaded.manager(),
                    List.of(ContinuousBatchingTest.greedy(prompt, 6), ContinuousBatchingTest.greedy(shorter, 4)),
                    (request, sequence, token) -> heard.get(request).add(token));

            assertThat(heard.get(0)).containsExactly(java.util.Arrays.stream(out.get(0).get(0).tokens()).boxed().toArray(Integer[]::new));
            assertThat(heard.get(1)).containsExactly(java.util.Arrays.stream(out.get(1).get(0).tokens()).boxed().toArray(Integer[]::new));
            assertThat(heard.get(0)).hasSize(6);
            assertThat(heard.get(1)).hasSize(4);
            assertThat(out.get(0).get(0).tokens()).containsExactly(java.util.Arrays.copyOf(golden.greedyNewIds(), 6));
        }
    }
}
