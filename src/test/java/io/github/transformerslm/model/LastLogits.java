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
