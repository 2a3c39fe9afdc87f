package io.github.transformerslm.model;

import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.runtime.TestPools;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.serving.EngineTest;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.model.nn.Linear;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Decode steps of the continuous-batching cache attend in Java over the cache's memory: against libtorch's
 * attention over each row's own history, for rows of different lengths, grouped-query heads, a head size
 * that is not a whole number of vectors, ALiBi-style bias before and after the scale, a sliding window,
 * across the cache's growth, alone and split across two threads.
 */
class SlotKvCacheAttentionTest extends EngineTest {
    static final float MASKED = -1e9f;
    @ParameterizedTest(name = "heads={0} kvHeads={1} headDim={2} bias={3} before={4} window={5} split={6} {7} head1Scale={8}")
    @CsvSource({
        "4, 4, 64, false, false, 0, 1, FLOAT32, 1",
        "4, 4, 80, true, false, 0, 2, FLOAT32, 1", // four vectors of dimensions at once, then one alone
        "4, 2, 20, false, false, 0, 2, FLOAT32, 1",
        "6, 1, 36, true, false, 0, 2, FLOAT32, 1",
        "4, 4, 16, true, true, 0, 1, FLOAT32, 1",
        "4, 2, 24, false, false, 5, 2, FLOAT32, 1",
        // A float16 model's cache: whole blocks of two vectors, blocks and a tail, a tail only.
        "4, 4, 64, false, false, 0, 2, FLOAT16, 1",
        "6, 2, 80, true, true, 5, 2, FLOAT16, 1",
        "4, 2, 20, true, false, 0, 1, FLOAT16, 1",
        "4, 4, 96, false, false, 0, 2, FLOAT16, 1", // two blocks side by side, then one alone
        // one head's query beyond 2^16 (a float16 cache scales each head's query on its own: VectorKernels.halfInput)
        "4, 2, 64, false, false, 0, 2, FLOAT16, 100000",
    })
    void decodeStepsMatchLibtorchOverEachRowsHistory(int heads, int kvHeads, int headDim, boolean withBias,
            boolean biasBeforeScale, int window, int split, DataType servingType, float head1Scale) {
        assertThat(Linear.vectorKernels()).as("the Java path is the one under test").isTrue();
        MatmulPool pool = TestPools.of(split);
        int[] prompts = {5, 12, 30}; // the last one makes the cache grow from 32 columns within the steps
        // A scaled head's scores are scaled back, so that its softmax is not saturated (a saturated one would
        // hide a wrong factor).
        float scale = (float) (1 / Math.sqrt(headDim)) / head1Scale;
        try (NDManager m = manager.newSubManager();
                SlotKvCache slots = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, kvHeads, headDim), 4, 4,
                        servingType, pool)) {
            assertThat(slots.storage()).as("a float16 model's cache holds float16").isEqualTo(servingType);
            // What the cache holds: float16 keeps each key and value rounded to float16, as a cast does.
            java.util.function.UnaryOperator<NDArray> held = servingType == DataType.FLOAT16
                    ? a -> a.toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false)
                    : a -> a;
            List<NDArray> keyHistory = new ArrayList<>(); // per row: [kvHeads, length, headDim]
            List<NDArray> valueHistory = new ArrayList<>();
            for (int length : prompts) {
                try (KvCache prefill = new KvCache(m, 1, 1, kvHeads, length, headDim)) {
                    NDArray k = m.randomNormal(new Shape(1, kvHeads, length, headDim));
                    NDArray v = m.randomNormal(new Shape(1, kvHeads, length, headDim));
                    prefill.append(0, k, v);
                    prefill.advance(length);
                    slots.admit(prefill, 0, 0, length);
                    keyHistory.add(held.apply(k.get(0)));
                    valueHistory.add(held.apply(v.get(0)));
                }
            }
            for (int step = 0; step < 4; step++) {
                slots.beginStep();
                int active = slots.active();
                int total = slots.stepColumns();
                float[] mask = new float[active * total];
                for (int r = 0; r < active; r++) {
                    int position = slots.length(r);
                    for (int j = 0; j < total; j++) {
                        boolean visible = j <= position && (window <= 0 || position - j < window);
                        mask[r * total + j] = visible ? 0f : MASKED;
                    }
                }
                float[] headScales = new float[heads];
                java.util.Arrays.fill(headScales, 1f);
                headScales[1] = head1Scale;
                NDArray q = m.randomNormal(new Shape(active, heads, 1, headDim)) // [active, heads, 1, headDim]
                        .mul(m.create(headScales, new Shape(1, heads, 1, 1)));
                NDArray k = m.randomNormal(new Shape(active, kvHeads, 1, headDim));
                NDArray v = m.randomNormal(new Shape(active, kvHeads, 1, headDim));
                NDArray bias = withBias ? m.randomNormal(0, 2, new Shape(active, heads, 1, total), DataType.FLOAT32) : null;
                NDArray maskArray = m.create(mask, new Shape(active, 1, 1, total));
                float[] got = slots.attend(0, q, k, v, maskArray, scale, bias, biasBeforeScale).toFloatArray();
                slots.advance(1);
                for (int r = 0; r < active; r++) {
                    NDArray keys = keyHistory.get(r).concat(held.apply(k.get(r)), 1); // [kvHeads, length + 1, headDim]
                    NDArray values = valueHistory.get(r).concat(held.apply(v.get(r)), 1);
                    keyHistory.set(r, keys);
                    valueHistory.set(r, values);
                    int columns = (int) keys.getShape().get(1);
                    NDArray rowMask = maskArray.get(new NDIndex("{}:{}, :, :, :{}", r, r + 1, columns));
                    NDArray rowBias = bias == null ? null : bias.get(new NDIndex("{}:{}, :, :, :{}", r, r + 1, columns));
                    float[] expected = Attention.scaledDotProduct(q.get(new NDIndex("{}:{}", r, r + 1)),
                            keys.expandDims(0), values.expandDims(0), rowMask, scale, rowBias, biasBeforeScale).toFloatArray();
                    float[] row = java.util.Arrays.copyOfRange(got, r * heads * headDim, (r + 1) * heads * headDim);
                    assertThat(row).as("step %d row %d", step, r).containsExactly(expected, org.assertj.core.data.Offset.offset(2e-5f));
                }
            }
            assertThat(slots.stepColumns()).as("the cache grew during the steps").isGreaterThan(32);
        }
    }

    @org.junit.jupiter.api.Test
    void aFloat16CacheHandsLibtorchFloat32Views() {
        // Steps that libtorch attends (shapes the Java path does not take) read the float16 cache as float32.
        int kvHeads = 2;
        int headDim = 16;
        try (NDManager m = manager.newSubManager();
                SlotKvCache slots = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, kvHeads, headDim), 2, 16,
                        DataType.FLOAT16, MatmulPool.CALLER_ONLY)) {
            NDArray history = m.randomNormal(new Shape(1, kvHeads, 3, headDim)).mul(1000); // some beyond float16's precision
            try (KvCache prefill = new KvCache(m, 1, 1, kvHeads, 3, headDim)) {
                prefill.append(0, history, history);
                prefill.advance(3);
                slots.admit(prefill, 0, 0, 3);
            }
            slots.beginStep();
            NDArray k = m.randomNormal(new Shape(1, kvHeads, 1, headDim)).mul(1e6f); // beyond float16's range
            NDArray[] views = slots.append(0, k, k);
            assertThat(views[0].getDataType()).isEqualTo(DataType.FLOAT32);
            NDArray expected = history.get(0).concat(k.get(0).clip(-65504f, 65504f), 1) // [kvHeads, 4, headDim]
                    .toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false);
            assertThat(views[0].get(0).toFloatArray()).containsExactly(expected.toFloatArray());
            assertThat(views[1].get(0).toFloatArray()).containsExactly(expected.toFloatArray());
        }
    }

    @org.junit.jupiter.api.Test
    void libtorchNeverSeesWhatLiesPastARowsLength() {
        // Columns past a row's length hold whatever was there (growth leaves new columns unwritten, a slot keeps
        // its previous sequence's tail): here NaN. The views handed to libtorch's attention must hold none of it.
        int kvHeads = 2;
        int headDim = 16;
        try (NDManager m = manager.newSubManager();
                SlotKvCache slots = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, kvHeads, headDim), 2, 16)) {
            admit(m, slots, m.full(new Shape(1, kvHeads, 20, headDim), Float.NaN), 20); // grows to 32 columns
            admit(m, slots, m.randomNormal(new Shape(1, kvHeads, 5, headDim)), 5);
            slots.rearrange(new int[] {1}); // the short row moves into the NaN row's slot, over its first 5 columns
            admit(m, slots, m.randomNormal(new Shape(1, kvHeads, 15, headDim)), 15);
            slots.beginStep();
            assertThat(slots.stepColumns()).isEqualTo(16);
            NDArray k = m.randomNormal(new Shape(2, kvHeads, 1, headDim));
            NDArray[] views = slots.append(0, k, k); // [2, kvHeads, 16, headDim]
            assertThat(views[0].isNaN().any().getBoolean()).as("keys").isFalse();
            assertThat(views[1].isNaN().any().getBoolean()).as("values").isFalse();
            assertThat(views[0].get("0, :, 6:, :").abs().max().getFloat()).as("past the short row's new token").isZero();
        }
    }

    @org.junit.jupiter.api.Test
    void aStepWhoseWorkerIsHeldElsewhereAttendsAlikeWithoutWaitingForIt() throws Exception {
        int kvHeads = 4;
        int headDim = 32;
        try (MatmulPool pool = new MatmulPool(2); NDManager m = manager.newSubManager();
                SlotKvCache slots = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, kvHeads, headDim), 2, 16,
                        DataType.FLOAT32, pool)) {
            admit(m, slots, m.randomNormal(new Shape(1, kvHeads, 9, headDim)), 9);
            admit(m, slots, m.randomNormal(new Shape(1, kvHeads, 14, headDim)), 14);
            slots.beginStep();
            int total = slots.stepColumns();
            NDArray q = m.randomNormal(new Shape(2, 8, 1, headDim));
            NDArray k = m.randomNormal(new Shape(2, kvHeads, 1, headDim));
            NDArray mask = m.zeros(new Shape(2, 1, 1, total));
            float[] split = slots.attend(0, q, k, k, mask, 0.2f, null, false).toFloatArray();

            try (TestPools.HeldWorker held = TestPools.holdWorker(pool)) {
                // The same step again (the new column is written over with the same values): no worker to share with.
                float[] alone = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(30),
                        () -> slots.attend(0, q, k, k, mask, 0.2f, null, false).toFloatArray());
                assertThat(alone).containsExactly(split);
            }
        }
    }

    /** Admits one sequence whose keys and values are both kv: [1, kvHeads, length, headDim]. */
    static void admit(NDManager m, SlotKvCache slots, NDArray kv, int length) {
        try (KvCache prefill = new KvCache(m, 1, 1, (int) kv.getShape().get(1), length, (int) kv.getShape().get(3))) {
            prefill.append(0, kv, kv);
            prefill.advance(length);
            slots.admit(prefill, 0, 0, length);
        }
    }

    @org.junit.jupiter.api.Test
    void aFusedProjectionAttendsAsItsSplitHeadsDo() {
        int heads = 4;
        int headDim = 16;
        int hidden = heads * headDim;
        try (NDManager m = manager.newSubManager();
                SlotKvCache packed = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, heads, headDim), 3, 16);
                SlotKvCache split = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, heads, headDim), 3, 16)) {
            for (int length : new int[] {3, 9}) {
                try (KvCache prefill = new KvCache(m, 1, 1, heads, length, headDim)) {
                    NDArray k = m.randomNormal(new Shape(1, heads, length, headDim));
                    prefill.append(0, k, k.mul(-1));
                    prefill.advance(length);
                    packed.admit(prefill, 0, 0, length);
                    split.admit(prefill, 0, 0, length);
                }
            }
            for (int step = 0; step < 3; step++) { // later steps attend over what the earlier ones wrote
                packed.beginStep();
                split.beginStep();
                int total = packed.stepColumns();
                float[] mask = new float[2 * total];
                for (int r = 0; r < 2; r++) {
                    for (int j = 0; j < total; j++) {
                        mask[r * total + j] = j <= packed.length(r) ? 0f : MASKED;
                    }
                }
                NDArray maskArray = m.create(mask, new Shape(2, 1, 1, total));
                NDArray qkv = m.randomNormal(new Shape(2, 1, 3 * hidden)); // [active, 1, q | k | v]
                float[] got = packed.attendPacked(0, qkv, heads, headDim, maskArray, 0.25f).toFloatArray();
                NDArray q = Attention.splitHeads(qkv.get(new NDIndex("..., :{}", hidden)), heads, headDim);
                NDArray k = Attention.splitHeads(qkv.get(new NDIndex("..., {}:{}", hidden, 2 * hidden)), heads, headDim);
                NDArray v = Attention.splitHeads(qkv.get(new NDIndex("..., {}:", 2 * hidden)), heads, headDim);
                float[] expected = Attention.mergeHeads(split.attend(0, q, k, v, maskArray, 0.25f)).toFloatArray();
                assertThat(got).as("step %d", step).containsExactly(expected);
                packed.advance(1);
                split.advance(1);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void anEmptyCacheGivesBackItsGrowthAndServesAgain() {
        int heads = 4;
        int headDim = 16;
        try (NDManager m = manager.newSubManager();
                SlotKvCache slots = new SlotKvCache(m, new CausalLanguageModel.CacheShape(1, heads, headDim), 2, 16)) {
            admit(m, slots, heads, headDim, 100);
            assertThat(slots.columns()).isEqualTo(128);
            slots.shrinkWhenEmpty();
            assertThat(slots.columns()).as("a running sequence keeps its cache").isEqualTo(128);

            slots.rearrange(new int[0]); // the sequence leaves
            slots.shrinkWhenEmpty();
            assertThat(slots.columns()).isEqualTo(16);

            NDArray k = admit(m, slots, heads, headDim, 5);
            slots.beginStep();
            NDArray q = m.randomNormal(new Shape(1, heads, 1, headDim));
            NDArray kNew = m.randomNormal(new Shape(1, heads, 1, headDim));
            NDArray mask = m.zeros(new Shape(1, 1, 1, 6));
            float[] got = slots.attend(0, q, kNew, kNew, mask, 0.25f, null, false).toFloatArray();
            NDArray keys = k.get(0).concat(kNew.get(0), 1).expandDims(0); // [1, heads, 6, headDim]
            float[] expected = Attention.scaledDotProduct(q, keys, keys, mask, 0.25f).toFloatArray();
            assertThat(got).containsExactly(expected, org.assertj.core.data.Offset.offset(2e-5f));
        }
    }

    /** Admits one sequence whose keys and values are both the returned [1, kvHeads, length, headDim]. */
    private static NDArray admit(NDManager m, SlotKvCache slots, int kvHeads, int headDim, int length) {
        NDArray k = m.randomNormal(new Shape(1, kvHeads, length, headDim));
        admit(m, slots, k, length);
        return k;
    }
}
