package io.github.transformerslm.model.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.runtime.TestPools;
import io.github.transformerslm.serving.EngineTest;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A prompt's attention in Java against libtorch's matmul, softmax and matmul over the same arrays: causal
 * masks, left padding (rows that see no key get libtorch's even spread), a sliding window (rows whose first
 * visible key is not the first key), grouped key heads, head sizes that are no multiple of the vector,
 * prompts that end inside a tile and inside a group of rows, and ALiBi biases.
 */
class PromptAttentionTest extends EngineTest {
    @ParameterizedTest(name = "batch={0} heads={1} kvHeads={2} seq={3} headDim={4} padding={5} window={6} split={7}")
    @CsvSource({
        "1, 4, 4, 64, 16, 0, 0, 1",
        "1, 12, 12, 100, 64, 0, 0, 2",
        "2, 8, 2, 37, 24, 5, 0, 2",
        "3, 4, 1, 70, 8, 30, 0, 1",
        "1, 6, 3, 90, 32, 0, 20, 2",
        "2, 2, 2, 3, 128, 1, 0, 2",
    })
    void matchesLibtorch(int batch, int heads, int kvHeads, int seq, int headDim, int padding, int window, int split) {
        assertThat(PromptAttention.available()).as("this execution runs the vector kernels").isTrue();
        SplittableRandom random = new SplittableRandom(seq * 31L + headDim);
        float[] q = normal(random, batch * heads * seq * headDim, 1.5);
        float[] k = normal(random, batch * kvHeads * seq * headDim, 1.5);
        float[] v = normal(random, batch * kvHeads * seq * headDim, 1);
        float[] mask = new float[batch * seq * seq];
        for (int b = 0; b < batch; b++) {
            int pad = b == batch - 1 ? 0 : padding; // the last row is unpadded, the others left-padded
            for (int t = 0; t < seq; t++) {
                for (int j = 0; j < seq; j++) {
                    boolean visible = j >= pad && j <= t && (window <= 0 || t - j < window);
                    mask[(b * seq + t) * seq + j] = visible ? 0f : -1e9f;
                }
            }
        }
        float scale = (float) (1 / Math.sqrt(headDim));

        float[] actual = PromptAttention.attend(q, k, v, new PromptAttention.Mask(mask, batch, seq, seq), null, heads, kvHeads,
                headDim, scale, TestPools.of(split), new PromptAttention.Buffers());

        try (NDManager m = manager.newSubManager()) {
            float[] expected = Attention.scaledDotProduct(m.create(q, new Shape(batch, heads, seq, headDim)),
                    m.create(k, new Shape(batch, kvHeads, seq, headDim)), m.create(v, new Shape(batch, kvHeads, seq, headDim)),
                    m.create(mask, new Shape(batch, 1, seq, seq)), scale).toFloatArray();
            assertThat(actual).hasSize(expected.length);
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(2e-5f));
            }
        }
    }

    /** ALiBi: a slope per head times the key's position, added after scaling (BLOOM) or before (Falcon). */
    @ParameterizedTest(name = "biasBeforeScale={0} padding={1}")
    @CsvSource({"false, 0", "true, 0", "false, 7", "true, 7"})
    void addsAnAlibiBiasWhereTransformersAddsIt(boolean biasBeforeScale, int padding) {
        int batch = 2;
        int heads = 4;
        int seq = 45;
        int headDim = 16;
        SplittableRandom random = new SplittableRandom(7);
        float[] q = normal(random, batch * heads * seq * headDim, 1.5);
        float[] k = normal(random, batch * heads * seq * headDim, 1.5);
        float[] v = normal(random, batch * heads * seq * headDim, 1);
        float[] mask = new float[batch * seq * seq];
        float[] bias = new float[batch * heads * seq];
        for (int b = 0; b < batch; b++) {
            int pad = b == 0 ? padding : 0;
            for (int t = 0; t < seq; t++) {
                for (int j = 0; j < seq; j++) {
                    mask[(b * seq + t) * seq + j] = j >= pad && j <= t ? 0f : -1e9f;
                }
            }
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < seq; j++) {
                    bias[(b * heads + h) * seq + j] = (float) Math.pow(2, -(h + 1)) * Math.max(0, j - pad);
                }
            }
        }
        float scale = 0.25f;

        float[] actual = PromptAttention.attend(q, k, v, new PromptAttention.Mask(mask, batch, seq, seq),
                new PromptAttention.Bias(bias, batch, heads, seq, biasBeforeScale), heads, heads, headDim, scale,
                TestPools.of(2), new PromptAttention.Buffers());

        try (NDManager m = manager.newSubManager()) {
            float[] expected = Attention.scaledDotProduct(m.create(q, new Shape(batch, heads, seq, headDim)),
                    m.create(k, new Shape(batch, heads, seq, headDim)), m.create(v, new Shape(batch, heads, seq, headDim)),
                    m.create(mask, new Shape(batch, 1, seq, seq)), scale, m.create(bias, new Shape(batch, heads, 1, seq)),
                    biasBeforeScale).toFloatArray();
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(2e-5f));
            }
        }
    }

    private static float[] normal(SplittableRandom random, int n, double sd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((random.nextDouble() + random.nextDouble() + random.nextDouble() - 1.5) * 2 * sd);
        }
        return x;
    }
}
