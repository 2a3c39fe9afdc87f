package io.github.transformerslm.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import java.nio.file.Path;

/** One forward pass over an unpadded prompt: the logits of its last position. */
public final class LastLogits {
    private LastLogits() {}

    public static float[] of(Path modelDir, DataType dtype, int[] ids) {
        try (LoadedModel loaded = ModelLoader.load(modelDir, dtype)) {
            return of(loaded, ids);
        }
    }

    public static float[] of(LoadedModel loaded, int[] ids) {
        int n = ids.length;
        try (NDManager m = NDManager.newBaseManager(); KvCache cache = loaded.model().newCache(m, 1, n);
                NDScope scope = new NDScope()) {
            NDArray out = loaded.model().forward(promptInput(m, ids, loaded.model().shape().slidingWindow()), cache);
            scope.suppressNotUsedWarning();
            return out.toFloatArray();
        }
    }

    /** The logits after feeding {@code ids} one token at a time through the KV cache, as decoding does. */
    public static float[] decoded(LoadedModel loaded, int[] ids) {
        CausalLanguageModel model = loaded.model();
        try (NDManager m = NDManager.newBaseManager(); KvCache cache = model.newCache(m, 1, ids.length)) {
            float[] logits = null;
            for (int i = 0; i < ids.length; i++) {
                try (NDScope scope = new NDScope()) {
                    float[] keyPositions = new float[i + 1];
                    for (int j = 0; j <= i; j++) {
                        keyPositions[j] = j;
                    }
                    NDArray out = model.forward(new ForwardInput(m.create(new long[] {ids[i]}, new Shape(1, 1)),
                            m.create(new long[] {i}, new Shape(1, 1)), m.create(new float[i + 1], new Shape(1, 1, 1, i + 1)),
                            m.create(keyPositions, new Shape(1, i + 1))), cache);
                    logits = out.toFloatArray();
                    scope.suppressNotUsedWarning();
                }
            }
            return logits;
        }
    }

    /** One unpadded prompt as a forward pass's input: positions 0..n-1, a causal mask (windowed if > 0). */
    static ForwardInput promptInput(NDManager m, int[] ids, int slidingWindow) {
        int n = ids.length;
        long[] longIds = new long[n];
        long[] pos = new long[n];
        float[] keyPositions = new float[n];
        float[] mask = new float[n * n];
        for (int i = 0; i < n; i++) {
            longIds[i] = ids[i];
            pos[i] = i;
            keyPositions[i] = i;
            for (int j = 0; j < n; j++) {
                boolean visible = j <= i && (slidingWindow <= 0 || i - j < slidingWindow);
                mask[i * n + j] = visible ? 0 : -1e9f;
            }
        }
        return new ForwardInput(m.create(longIds, new Shape(1, n)), m.create(pos, new Shape(1, n)),
                m.create(mask, new Shape(1, 1, n, n)), m.create(keyPositions, new Shape(1, n)));
    }

    public static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }
}
