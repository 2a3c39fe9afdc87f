package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.runtime.TorchRuntime;

/**
 * One thread's one-row product throughput per weight format (not a test): a matrix that stays in the
 * core's cache (compute-bound) and one that does not (memory-bound), in G weights/s, best of many runs.
 * Run: mvn -q exec:java -Dbenchmark=io.github.transformerslm.model.nn.KernelThroughput
 */
public final class KernelThroughput {
    public static void main(String[] args) {
        VectorBoundsChecks.offUnlessConfigured();
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
        try (NDManager m = NDManager.newBaseManager()) {
            for (int[] shape : new int[][] {{768, 256}, {768, 16384}}) {
                int in = shape[0];
                int out = shape[1];
                for (String format : args.length > 0 ? args : new String[] {"fp32", "fp16", "int8", "int4"}) {
                    DataType dtype = format.equals("fp16") ? DataType.FLOAT16 : DataType.FLOAT32;
                    Quantization q = format.startsWith("int") ? Quantization.parse(format) : Quantization.NONE;
                    var w = m.randomNormal(0, 0.02f, new Shape(out, in), DataType.FLOAT32).toType(dtype, false);
                    PackedMatrix packed = q == Quantization.NONE ? PanelWeights.pack(w, null, false, m, MatmulPool.CALLER_ONLY)
                            : QuantizedPanels.pack(w, null, false, q, m, MatmulPool.CALLER_ONLY);
                    float[] x = new float[in];
                    for (int i = 0; i < in; i++) {
                        x[i] = (float) Math.sin(i);
                    }
                    VectorProduct.Workspace work = new VectorProduct.Workspace();
                    float[] y = new float[packed.panels() * VectorKernels.PANEL];
                    int reps = (int) Math.max(20, 2e8 / ((long) in * out));
                    double best = Double.MAX_VALUE;
                    for (int round = 0; round < 30; round++) {
                        long t0 = System.nanoTime();
                        for (int r = 0; r < reps; r++) {
                            float[] p = packed.prepare(x, 1, work);
                            int chunks = Integer.getInteger("chunks", 1);
                            for (int c = 0; c < chunks; c++) {
                                packed.multiply(p, work.perRow, work.quantized, 1, y, y.length, packed.panels() * c / chunks, packed.panels() * (c + 1) / chunks);
                            }
                        }
                        best = Math.min(best, (System.nanoTime() - t0) / 1e9 / reps);
                    }
                    System.out.printf("%-5s %5d x %5d (%6.1f MB): %6.2f G weights/s on one thread%n", format, in, out,
                            packed.bytes() / 1e6, (double) in * out / best / 1e9);
                }
            }
        }
    }
}
