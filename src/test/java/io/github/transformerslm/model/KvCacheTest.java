package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.nn.Attention;
import io.github.transformerslm.runtime.TestPools;
import io.github.transformerslm.serving.EngineTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The prompt's cache: a fused projection (GPT-2's c_attn) split, cached and attended in Java. */
class KvCacheTest extends EngineTest {

    @ParameterizedTest(name = "batch={0} seq={1} heads={2} headDim={3} split={4}")
    @CsvSource({
        "1, 5, 4, 16, 1",
        "2, 7, 3, 20, 2", // a head size that is not a whole number of vectors; the second row left-padded
        "2, 33, 4, 64, 2",
    })
    void aPromptsFusedProjectionAttendsAndIsCachedAsItsSplitHeadsAre(int batch, int seq, int heads, int headDim, int split) {
        int hidden = heads * headDim;
        int capacity = seq + 4;
        try (NDManager m = manager.newSubManager();
                KvCache packed = new KvCache(m, 1, batch, heads, capacity, headDim, TestPools.of(split));
                KvCache separate = new KvCache(m, 1, batch, heads, capacity, headDim, TestPools.of(split))) {
            float[] mask = new float[batch * seq * seq];
            for (int b = 0; b < batch; b++) {
                int padding = b == 1 ? 2 : 0; // row 1 starts two positions late
                for (int i = 0; i < seq; i++) {
                    for (int j = 0; j < seq; j++) {
                        boolean visible = j <= i && (j >= padding || i < padding);
                        mask[(b * seq + i) * seq + j] = visible ? 0f : -1e9f;
                    }
                }
            }
            NDArray maskArray = m.create(mask, new Shape(batch, 1, seq, seq));
            NDArray qkv = m.randomNormal(new Shape(batch, seq, 3 * hidden)); // [batch, seq, q | k | v]

            NDArray got = packed.attendPacked(0, qkv, heads, headDim, maskArray, 0.3f);
            NDArray q = Attention.splitHeads(qkv.get(new NDIndex("..., :{}", hidden)), heads, headDim);
            NDArray k = Attention.splitHeads(qkv.get(new NDIndex("..., {}:{}", hidden, 2 * hidden)), heads, headDim);
            NDArray v = Attention.splitHeads(qkv.get(new NDIndex("..., {}:", 2 * hidden)), heads, headDim);
            NDArray expected = Attention.mergeHeads(separate.attend(0, q, k, v, maskArray, 0.3f));

            assertThat(got.getShape()).isEqualTo(new Shape(batch, seq, hidden));
            assertThat(got.toFloatArray()).containsExactly(expected.toFloatArray());
            for (int b = 0; b < batch; b++) {
                assertThat(packed.keys(0, b, 0, capacity).toFloatArray()).as("keys of row %d", b)
                        .containsExactly(separate.keys(0, b, 0, capacity).toFloatArray());
                assertThat(packed.values(0, b, 0, capacity).toFloatArray()).as("values of row %d", b)
                        .containsExactly(separate.values(0, b, 0, capacity).toFloatArray());
            }
        }
    }
}
