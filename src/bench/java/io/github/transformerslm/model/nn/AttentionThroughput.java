package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.runtime.TorchRuntime;
import java.util.SplittableRandom;

/**
 * One layer's attention over a causal prompt (not a test): {@link PromptAttention} against libtorch's
 * matmul, softmax and matmul ({@link Attention#scaledDotProduct}), GPT-2's heads (12 of 64), on one thread
 * and on two, best of many runs in milliseconds.
 * Run: mvn -q exec:java -Dbenchmark=io.github.transformerslm.model.nn.AttentionThroughput [-Dexec.args="16 512 2000"]
 */
public final class AttentionThroughput {
    public static void main(String[] args) {
        VectorBoundsChecks.offUnlessConfigured();
        TorchRuntime.start(2);
        TorchRuntime.prepareInferenceThread();
        int heads = 12;
        int headDim = 64;
        String[] lengths = args.length > 0 ? args : new String[] {"16", "512", "2000"};
        try (NDManager manager = NDManager.newBaseManager(); MatmulPool two = new MatmulPool(2)) {
            for (String length : lengths) {
                int seq = Integer.parseInt(length);
                SplittableRandom random = new SplittableRandom(seq);
                float[] q = random(random, heads * seq * headDim);
                float[] k = random(random, heads * seq * headDim);
                float[] v = random(random, heads * seq * headDim);
                float[] mask = new float[seq * seq];
                for (int t = 0; t < seq; t++) {
                    for (int j = t + 1; j < seq; j++) {
                        mask[t * seq + j] = -1e9f;
                    }
                }
                PromptAttention.Mask prompt = new PromptAttention.Mask(mask, 1, seq, seq);
                PromptAttention.Buffers buffers = new PromptAttention.Buffers();
                int reps = Math.max(20, (int) (1e10 / ((double) seq * seq * heads * headDim)));
                for (int r = 0; r < 3; r++) { // compiled before it is timed
                    PromptAttention.attend(q, k, v, prompt, null, heads, heads, headDim, 0.125f, two, buffers);
                }
                for (int threads = 1; threads <= 2; threads++) {
                    MatmulPool pool = threads == 1 ? MatmulPool.CALLER_ONLY : two;
                    ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
                    double java = Double.MAX_VALUE;
                    double torch = Double.MAX_VALUE;
                    for (int r = 0; r < reps; r++) {
                        long t0 = System.nanoTime();
                        PromptAttention.attend(q, k, v, prompt, null, heads, heads, headDim, 0.125f, pool, buffers);
                        java = Math.min(java, (System.nanoTime() - t0) / 1e6);
                        try (NDManager m = manager.newSubManager()) {
                            NDArray qa = m.create(q, new Shape(1, heads, seq, headDim));
                            NDArray ka = m.create(k, new Shape(1, heads, seq, headDim));
                            NDArray va = m.create(v, new Shape(1, heads, seq, headDim));
                            NDArray ma = m.create(mask, new Shape(1, 1, seq, seq));
                            long t1 = System.nanoTime();
                            Attention.scaledDotProduct(qa, ka, va, ma, 0.125f).toFloatArray();
                            torch = Math.min(torch, (System.nanoTime() - t1) / 1e6);
                        }
                    }
                    double flops = 2.0 * 2 * heads * headDim * seq * (seq + 1) / 2.0; // causal half, both products
                    System.out.printf("%5d tokens, %d thread%s: Java %8.3f ms (%5.1f GFLOPS causal), libtorch %8.3f ms%n", seq,
                            threads, threads == 1 ? " " : "s", java, flops / java / 1e6, torch);
                }
            }
        }
    }

    private static float[] random(SplittableRandom random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextDouble(-2, 2);
        }
        return x;
    }
}
