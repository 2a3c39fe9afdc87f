package io.github.transformerslm.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.model.nn.Quantization;
import io.github.transformerslm.model.nn.VectorBoundsChecks;
import io.github.transformerslm.runtime.TorchRuntime;

/**
 * One decode step's matrix products alone (not a test): GPT-2 small's twelve layers and its head, one
 * token row, in each weight format, so that the time a decode step spends in products can be set against
 * the step's whole time from {@link Benchmark}. Prints milliseconds per step's worth of products and the
 * weights multiplied per second ({@code -DeachRound=true} prints every round's milliseconds too).
 *
 * <p>By default the twelve layers are one layer's weights twelve times, which stay in the last-level cache:
 * the kernels' own speed. {@code -Ddistinct=true} gives each layer its own weights, so that a step streams
 * them from memory as a real model's decode step does.
 */
public final class ProductBenchmark {
    public static void main(String[] args) {
        VectorBoundsChecks.offUnlessConfigured();
        int split = Integer.parseInt(System.getProperty("split", String.valueOf(Runtime.getRuntime().availableProcessors())));
        TorchRuntime.start(split);
        TorchRuntime.prepareInferenceThread();
        MatmulPool pool = new MatmulPool(split);
        int rows = Integer.parseInt(System.getProperty("rows", "1"));
        int[][] shapes = {{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}}; // {in, out} per layer, ×12, then the head
        String[] formats = args.length > 0 ? args : new String[] {"fp32", "fp16", "int8", "int4"};
        try (NDManager manager = NDManager.newBaseManager()) {
            for (String format : formats) {
                DataType dtype = format.equals("fp16") ? DataType.FLOAT16 : DataType.FLOAT32;
                Quantization q = format.startsWith("int") ? Quantization.parse(format) : Quantization.NONE;
                boolean distinct = Boolean.getBoolean("distinct");
                Linear[][] layers = new Linear[distinct ? 12 : 1][shapes.length];
                for (Linear[] layer : layers) {
                    for (int i = 0; i < shapes.length; i++) {
                        layer[i] = new Linear(manager.randomNormal(0, 0.02f, new Shape(shapes[i][1], shapes[i][0]), DataType.FLOAT32)
                                .toType(dtype, false), null, q, pool);
                    }
                }
                Linear head = new Linear(manager.randomNormal(0, 0.02f, new Shape(50257, 768), DataType.FLOAT32).toType(dtype, false), null, q, pool);
                NDArray x768 = manager.randomNormal(new Shape(1, rows, 768));
                NDArray x3072 = manager.randomNormal(new Shape(1, rows, 3072));
                double total = 0;
                double best = Double.MAX_VALUE;
                double bestHead = Double.MAX_VALUE;
                for (int round = 0; round < 40; round++) {
                    long t0 = System.nanoTime();
                    for (int l = 0; l < 12; l++) {
                        Linear[] layer = layers[l % layers.length];
                        for (int i = 0; i < shapes.length; i++) {
                            try (NDArray y = layer[i].apply(shapes[i][0] == 768 ? x768 : x3072)) {
                                // closed at once, as a step scope would
                            }
                        }
                    }
                    long t1 = System.nanoTime();
                    try (NDArray y = head.apply(x768)) {
                        // as above
                    }
                    long t2 = System.nanoTime();
                    best = Math.min(best, (t1 - t0) / 1e6);
                    total += round >= 10 ? (t2 - t0) / 1e6 : 0;
                    if (Boolean.getBoolean("eachRound")) {
                        System.out.printf("%.2f ", (t2 - t0) / 1e6);
                    }
                    bestHead = Math.min(bestHead, (t2 - t1) / 1e6);
                }
                double weights = 12 * 7_077_888.0 + 50257 * 768.0;
                System.out.printf("%-5s rows %d, %s layers: layers %.2f ms + head %.2f ms = %.2f ms per step (best of 40; mean of the last 30 %.2f ms): %.1f G weights/s%n",
                        format, rows, distinct ? "12 distinct" : "1 cached", best, bestHead, best + bestHead, total / 30, weights * rows / ((best + bestHead) / 1e3) / 1e9);
            }
        }
    }
}
