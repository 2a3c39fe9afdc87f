package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** For tests: a matrix as QUANTIZE holds it, read back as float32 (what its products multiply by). */
public final class Dequantized {
    private Dequantized() {}

    /** w: [out, in] row-major → the same shape, every weight replaced by its dequantized value. */
    public static float[] of(float[] w, int out, int in, Quantization quantization, NDManager manager) {
        try (NDManager m = manager.newSubManager()) {
            QuantizedPanels q = QuantizedPanels.pack(m.create(w, new Shape(out, in)), null, false, quantization, m, MatmulPool.CALLER_ONLY);
            float[] result = new float[w.length];
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    result[o * in + i] = q.weight(o, i);
                }
            }
            return result;
        }
    }
}
