package io.github.transformerslm.generation;

import io.github.transformerslm.model.nn.Quantization;
import io.github.transformerslm.runtime.MatmulPool;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.model.GoldenReference;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Batching never changes results: a greedy request gives the same tokens alone or among 15 others of
 * mixed prompt lengths that join while it decodes and leave before it ends.
 */
class ContinuousBatchingTest {
    static final GenerationLimits LIMITS = new GenerationLimits(64, 4, 20);

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    static GenerationRow greedy(int[] prompt, int maxNew) {
        GenerationPlan plan = GenerationPlan.resolve(GenerationConfigParser.parse("{\"max_new_tokens\": " + maxNew + "}"),
                prompt.length, 128, LIMITS, ServiceStops.NONE);
        return new GenerationRow(prompt, plan, new SplittableRandom(0));
    }

    static final class Collect implements SequenceListener {
        List<GeneratedSequence> result;
        Throwable error;
        final List<Integer> streamed = new ArrayList<>();

        @Override
        public void onToken(int sequence, int token, float logprob, List<TokenLogprob> top) {
            streamed.add(token);
        }

        @Override
        public void onFinish(List<GeneratedSequence> sequences) {
            result = sequences;
        }

        @Override
        public void onError(Throwable e) {
            error = e;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "falcon", "bloom", "gpt_neox"})
    void greedyTokensAreTheSameAloneAndAmongFifteenOthers(String arch) {
        GoldenReference golden = GoldenReference.of(arch);
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), DataType.FLOAT32)) {
            Collect watched = amongFifteenOthers(loaded, golden.inputIds(), DataType.FLOAT32);
            assertThat(watched.result.get(0).tokens()).containsExactly(golden.greedyNewIds());
            assertThat(watched.streamed).containsExactly(java.util.Arrays.stream(golden.greedyNewIds()).boxed()
                    .toArray(Integer[]::new));
        }
    }

    /** A float16 model keeps its KV cache in float16: batching still changes nothing. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void float16GreedyTokensAreTheSameAloneAndAmongFifteenOthers(String arch) {
        GoldenReference golden = GoldenReference.of(arch);
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), DataType.FLOAT16)) {
            Collect alone = new Collect();
            try (ContinuousBatcher batcher = new ContinuousBatcher(loaded.model(), loaded.tokenizer(),
                    loaded.manager(), new ContinuousBatcher.Limits(16, 64))) {
                assertThat(batcher.kvCacheStorage()).isEqualTo(DataType.FLOAT16);
                batcher.submit(greedy(golden.inputIds(), 20), alone);
                while (batcher.hasWork()) {
                    batcher.step();
                }
            }
            Collect watched = amongFifteenOthers(loaded, golden.inputIds(), DataType.FLOAT16);
            assertThat(alone.result.get(0).tokens()).isNotEmpty();
            assertThat(watched.result.get(0).tokens()).containsExactly(alone.result.get(0).tokens());
        }
    }

    /** The watched greedy request (20 tokens), four others before it and the rest joining while it decodes. */
    private static Collect amongFifteenOthers(LoadedModel loaded, int[] prompt, DataType expectedStorage) {
        SplittableRandom r = new SplittableRandom(11);
        try (ContinuousBatcher batcher = new ContinuousBatcher(loaded.model(), loaded.tokenizer(),
                loaded.manager(), new ContinuousBatcher.Limits(16, 64))) {
            assertThat(batcher.kvCacheStorage()).isEqualTo(expectedStorage);
            Collect watched = new Collect();
            List<Collect> others = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                others.add(submitOther(batcher, r));
            }
            batcher.submit(greedy(prompt, 20), watched);
            int steps = 0;
            while (batcher.hasWork()) {
                batcher.step();
                if (++steps % 2 == 0 && others.size() < 15) {
                    others.add(submitOther(batcher, r));
                }
            }
            assertThat(others).hasSize(15).allSatisfy(o -> assertThat(o.result).isNotNull());
            return watched;
        }
    }

    private static Collect submitOther(ContinuousBatcher batcher, SplittableRandom r) {
        int length = 1 + r.nextInt(30);
        int[] prompt = new int[length];
        for (int i = 0; i < length; i++) {
            prompt[i] = 3 + r.nextInt(990);
        }
        Collect c = new Collect();
        batcher.submit(greedy(prompt, 1 + r.nextInt(25)), c);
        return c;
    }

    @Test
    void cancelledRequestLeavesAtTheNextStepAndFreesItsRows() {
        GoldenReference golden = GoldenReference.of("gpt2");
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), DataType.FLOAT32);
                ContinuousBatcher batcher = new ContinuousBatcher(loaded.model(), loaded.tokenizer(), loaded.manager(),
                        new ContinuousBatcher.Limits(2, 64))) {
            Collect cancelled = new Collect();
            Collect survivor = new Collect();
            ContinuousBatcher.Handle handle = batcher.submit(greedy(golden.inputIds(), 20), cancelled);
            batcher.submit(greedy(golden.inputIds(), 20), survivor);
            Collect waiting = new Collect();
            batcher.submit(greedy(golden.inputIds(), 20), waiting);
            batcher.step(); // prefill of the first two: the batch is full
            batcher.step();
            assertThat(batcher.runningRows()).isEqualTo(2);
            assertThat(batcher.waitingCount()).isEqualTo(1);
            handle.cancel(new CancellationException("client went away"));
            batcher.step(); // drops it, admits the waiting one
            assertThat(cancelled.error).isInstanceOf(CancellationException.class);
            assertThat(cancelled.streamed).hasSize(2);
            assertThat(batcher.waitingCount()).isZero();
            while (batcher.hasWork()) {
                batcher.step();
            }
            assertThat(survivor.result.get(0).tokens()).containsExactly(golden.greedyNewIds());
            assertThat(waiting.result.get(0).tokens()).containsExactly(golden.greedyNewIds());
        }
    }

    @Test
    void seededSamplingGivesTheSameTokensAloneAndAmongOthersSampledSideBySide() {
        // With two threads, a decode step's units sample side by side: each must still draw from its own
        // rows with its own random numbers, and each listener hear its own tokens in order.
        GoldenReference golden = GoldenReference.of("gpt2");
        try (LoadedModel loaded = ModelLoader.load(golden.directory(), DataType.FLOAT32, Quantization.NONE,
                Quantization.NONE, new MatmulPool(2))) {
            Collect alone = new Collect();
            run(loaded, List.of(sampled(golden.inputIds(), 7)), List.of(alone));
            List<GenerationRow> rows = new ArrayList<>();
            List<Collect> listeners = new ArrayList<>();
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < 7; i++) {
                int[] prompt = new int[1 + r.nextInt(20)];
                for (int j = 0; j < prompt.length; j++) {
                    prompt[j] = 3 + r.nextInt(990);
                }
                rows.add(sampled(prompt, 100 + i));
                listeners.add(new Collect());
            }
            Collect watched = new Collect();
            rows.add(3, sampled(golden.inputIds(), 7));
            listeners.add(3, watched);

            run(loaded, rows, listeners);

            assertThat(alone.result.get(0).tokens()).hasSize(24);
            assertThat(watched.result.get(0).tokens()).containsExactly(alone.result.get(0).tokens());
            for (Collect c : listeners) {
                assertThat(c.streamed).containsExactly(java.util.Arrays.stream(c.result.get(0).tokens()).boxed()
                        .toArray(Integer[]::new));
            }
        }
    }

    /** Sampling as an OpenAI client asks for it, seeded, 24 tokens and no early end. */
    static GenerationRow sampled(int[] prompt, int seed) {
        GenerationPlan plan = GenerationPlan.resolve(GenerationConfigParser.parse("{\"max_new_tokens\": 24, "
                + "\"eos_token_id\": [], \"do_sample\": true, \"temperature\": 0.9, \"top_p\": 0.9, \"top_k\": 0, "
                + "\"seed\": " + seed + "}"), prompt.length, 128, LIMITS, ServiceStops.NONE);
        return new GenerationRow(prompt, plan, new SplittableRandom(seed));
    }

    private static void run(LoadedModel loaded, List<GenerationRow> rows, List<Collect> listeners) {
        try (ContinuousBatcher batcher = new ContinuousBatcher(loaded.model(), loaded.tokenizer(),
                loaded.manager(), new ContinuousBatcher.Limits(16, 64))) {
            for (int i = 0; i < rows.size(); i++) {
                batcher.submit(rows.get(i), listeners.get(i));
            }
            while (batcher.hasWork()) {
                batcher.step();
            }
        }
        assertThat(listeners).allSatisfy(c -> assertThat(c.result).isNotNull());
    }
}
