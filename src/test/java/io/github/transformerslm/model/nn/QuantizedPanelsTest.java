package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.runtime.TestPools;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.serving.EngineTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Weights quantized at load (QUANTIZE): every weight within the rounding of its block's scale (the
 * quantization is llama.cpp's Q8_0 and Q4_0), and the products over the packed codes equal to the same
 * product computed in double from the dequantized weights (and, for int4, from inputs rounded to 8 bits per
 * block of 32 as llama.cpp's Q4_0 products round theirs), for one row (the codes multiplied where they
 * lie) and for many (panels widened once), with tails of inputs and outputs, both weight layouts, a bias,
 * and split across two threads.
 */
class QuantizedPanelsTest extends EngineTest {
    @ParameterizedTest(name = "{0} in={1} out={2}")
    @CsvSource({"INT8, 768, 100", "INT4, 768, 100", "INT8, 172, 37", "INT4, 172, 37"})
    void everyWeightIsWithinTheRoundingOfItsBlocksScale(Quantization quantization, int in, int out) {
        try (NDManager m = manager.newSubManager()) {
            float[] values = weights(out, in, 11);
            NDArray w = m.create(values, new Shape(out, in));
            QuantizedPanels q = QuantizedPanels.pack(w, null, false, quantization, m, MatmulPool.CALLER_ONLY);
            for (int o = 0; o < out; o++) {
                for (int b = 0; b * 32 < in; b++) {
                    float largest = 0f;
                    int at = b * 32;
                    for (int i = b * 32; i < Math.min(in, b * 32 + 32); i++) {
                        if (Math.abs(values[o * in + i]) > largest) {
                            largest = Math.abs(values[o * in + i]);
                            at = i;
                        }
                    }
                    // int8: steps of largest/127, error at most half a step. int4: steps of largest/8; the
                    // largest is -8 steps, and values of the other sign past 7 steps are clamped to 7. The
                    // step is stored as float16 (11 significant bits): a code of at most 127 (8) steps moves
                    // by at most that many times 2^-11 of a step more.
                    float step = quantization == Quantization.INT8 ? largest / 127f : largest / 8f;
                    float codes = quantization == Quantization.INT8 ? 127 : 8;
                    float bound = (quantization == Quantization.INT8 ? step / 2 : step) + codes * step * 0x1p-11f;
                    for (int i = b * 32; i < Math.min(in, b * 32 + 32); i++) {
                        float error = Math.abs(q.weight(o, i) - values[o * in + i]);
                        assertThat(error).as("o=%d i=%d", o, i).isLessThanOrEqualTo(bound * 1.0001f + 1e-12f);
                    }
                    if (quantization == Quantization.INT4) {
                        assertThat(q.weight(o, at)).as("the block's largest weight: -8 float16 steps")
                                .isCloseTo(values[o * in + at], org.assertj.core.data.Offset.offset(8 * step * 0x1p-11f));
                    }
                }
            }
            int levels = quantization == Quantization.INT8 ? 255 : 16;
            long distinct = java.util.stream.IntStream.range(0, in).mapToObj(i -> q.weight(0, i) / q.weight(0, 0)).distinct().count();
            assertThat(distinct).isLessThanOrEqualTo((long) levels * ((in + 31) / 32));
        }
    }

    @ParameterizedTest(name = "{0} in={1} out={2} rows={3} inputMajor={4} bias={5} split={6}")
    @CsvSource({
        "INT8, 768, 2304, 1, false, true, 2",
        "INT4, 768, 2304, 1, false, true, 2",
        "INT8, 172, 64, 1, false, false, 1",
        "INT4, 172, 64, 1, true, false, 1",
        "INT8, 3072, 771, 1, true, true, 2",
        "INT4, 3072, 771, 1, true, true, 2",
        "INT8, 771, 1000, 2, false, true, 2",
        "INT4, 771, 1000, 3, false, true, 2",
        "INT8, 768, 1003, 8, true, false, 2",
        "INT4, 768, 1003, 13, false, true, 1",
        "INT8, 172, 64, 70, false, true, 2",
        "INT4, 768, 1000, 70, true, true, 2",
    })
    void productsMatchTheDequantizedWeights(Quantization quantization, int in, int out, int rows, boolean inputMajor,
            boolean withBias, int split) {
        MatmulPool pool = TestPools.of(split);
        try (NDManager m = manager.newSubManager()) {
            float[] values = weights(out, in, 5);
            float[] bias = withBias ? weights(1, out, 6) : null;
            NDArray w = m.create(values, new Shape(out, in));
            NDArray stored = inputMajor ? w.transpose().reshape(-1).reshape(in, out) : w;
            NDArray b = withBias ? m.create(bias) : null;
            QuantizedPanels q = QuantizedPanels.pack(w, null, false, quantization, m, pool); // the reference's weights
            Linear linear = inputMajor ? Linear.inputMajor(stored, b, quantization, pool) : new Linear(stored, b, quantization, pool);
            assertThat(linear.format()).isEqualTo(quantization.label());
            float[] x = weights(rows, in, 7);
            float[] y = linear.apply(m.create(x, new Shape(1, rows, in))).toFloatArray();
            // int4 multiplies inputs rounded to 8 bits per block of 32, as llama.cpp's Q4_0 products do.
            double[] input = quantization == Quantization.INT4 ? onInt8Grid(x, rows, in) : toDouble(x);

            assertThat(y).hasSize(rows * out);
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    double expected = withBias ? bias[o] : 0;
                    double magnitude = Math.abs(expected);
                    for (int i = 0; i < in; i++) {
                        double term = (double) q.weight(o, i) * input[r * in + i];
                        expected += term;
                        magnitude += Math.abs(term);
                    }
                    assertThat((double) y[r * out + o]).as("row %d output %d", r, o).isCloseTo(expected,
                            org.assertj.core.data.Offset.offset(2e-6 * magnitude + 1e-6));
                }
            }
        }
    }

    @Test
    void aTiedHeadLooksUpTheDequantizedRows() {
        try (NDManager m = manager.newSubManager()) {
            int vocab = 100;
            int hidden = 64;
            float[] values = weights(vocab, hidden, 9);
            Linear head = new Linear(m.create(values, new Shape(vocab, hidden)), null, Quantization.INT8);
            QuantizedPanels q = QuantizedPanels.pack(m.create(values, new Shape(vocab, hidden)), null, false, Quantization.INT8, m, MatmulPool.CALLER_ONLY);
            float[] rows = head.lookup(m.create(new long[] {0, 99, 42}, new Shape(1, 3))).toFloatArray();
            for (int i = 0; i < hidden; i++) {
                assertThat(rows[i]).isEqualTo(q.weight(0, i));
                assertThat(rows[hidden + i]).isEqualTo(q.weight(99, i));
                assertThat(rows[2 * hidden + i]).isEqualTo(q.weight(42, i));
                assertThat(rows[2 * hidden + i]).isCloseTo(values[42 * hidden + i], org.assertj.core.data.Offset.offset(0.02f));
            }
        }
    }

    @Test
    void theCodesTakeAByteOrHalfAByteAWeightPlusAFloat16ScalePerBlock() {
        try (NDManager m = manager.newSubManager()) {
            NDArray w = m.randomNormal(new Shape(768, 768));
            long int8 = QuantizedPanels.pack(w, null, false, Quantization.INT8, m, MatmulPool.CALLER_ONLY).bytes();
            long int4 = QuantizedPanels.pack(w, null, false, Quantization.INT4, m, MatmulPool.CALLER_ONLY).bytes();
            long weights = 768L * 768;
            assertThat(int8).isEqualTo(weights + weights / 32 * 2 + 768 * 4); // codes, float16 scales, bias slots
            assertThat(int4).isEqualTo(weights / 2 + weights / 32 * 2 + 768 * 4);
        }
    }

    @Test
    void float16CheckpointsAreQuantizedFromTheirValues() {
        try (NDManager m = manager.newSubManager()) {
            float[] values = weights(64, 96, 3);
            NDArray single = m.create(values, new Shape(64, 96));
            NDArray half = single.toType(DataType.FLOAT16, false);
            QuantizedPanels fromSingle = QuantizedPanels.pack(half.toType(DataType.FLOAT32, false), null, false, Quantization.INT8, m, MatmulPool.CALLER_ONLY);
            QuantizedPanels fromHalf = QuantizedPanels.pack(half, null, false, Quantization.INT8, m, MatmulPool.CALLER_ONLY);
            for (int o = 0; o < 64; o++) {
                for (int i = 0; i < 96; i++) {
                    assertThat(fromHalf.weight(o, i)).isEqualTo(fromSingle.weight(o, i));
                }
            }
        }
    }

    @Test
    void int4InputsAreRoundedTo8BitsPerBlockOf32() {
        float[] x = new float[40];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i) * (i == 5 ? 4 : 1);
        }
        double[] grid = onInt8Grid(x, 1, 40);
        double step = 4 * Math.abs(Math.sin(5)) / 127; // block 0's largest magnitude over 127 steps
        assertThat(grid[5]).isCloseTo(x[5], org.assertj.core.data.Offset.offset(1e-6));
        for (int i = 0; i < 32; i++) {
            assertThat(Math.abs(grid[i] - x[i])).as("input %d", i).isLessThanOrEqualTo(step / 2 * 1.0001);
            assertThat(Math.abs(Math.rint(grid[i] / step) * step - grid[i])).isLessThan(1e-6);
        }
        assertThat(Math.abs(grid[33] - x[33])).as("block 1 has a scale of its own")
                .isLessThanOrEqualTo(Math.abs(Math.sin(32)) / 127 / 2 + 1e-7);
    }

    /**
     * Rows of x with each block of 32 inputs rounded to steps of its largest magnitude / 127 (llama.cpp's
     * Q8_0), computed here independently of the kernels.
     */
    private static double[] onInt8Grid(float[] x, int rows, int in) {
        double[] r = new double[x.length];
        for (int row = 0; row < rows; row++) {
            for (int from = row * in; from < (row + 1) * in; from += 32) {
                int to = Math.min((row + 1) * in, from + 32);
                float largest = 0f;
                for (int k = from; k < to; k++) {
                    largest = Math.max(largest, Math.abs(x[k]));
                }
                float d = largest / 127f;
                for (int k = from; k < to; k++) {
                    r[k] = d == 0f ? 0 : Math.rint(x[k] * (1f / d)) * d; // nearest, ties to even
                }
            }
        }
        return r;
    }

    private static double[] toDouble(float[] x) {
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = x[i];
        }
        return r;
    }

    /** Normal values with a few outliers ten times larger, as trained weights have. */
    private static float[] weights(int rows, int columns, long seed) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        float[] v = new float[rows * columns];
        for (int i = 0; i < v.length; i++) {
            double g = random.nextDouble() * 2 - 1 + random.nextDouble() * 2 - 1 + random.nextDouble() * 2 - 1;
            v[i] = (float) (g * 0.05 * (random.nextInt(50) == 0 ? 10 : 1));
        }
        return v;
    }
}
