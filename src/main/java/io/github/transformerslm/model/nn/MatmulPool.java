package io.github.transformerslm.model.nn;

import io.github.transformerslm.engine.TorchRuntime;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Threads that compute row blocks of large matrix products beside the model thread. Their number is
 * MATMUL_SPLIT - 1 (the model thread computes one block itself); 1 turns splitting off. Set before the
 * first model loads.
 */
public final class MatmulPool {
    /** Below this many weights a product is too small to be worth a thread hand-off. */
    static final long MIN_SPLIT_ELEMENTS = 256L * 1024;
    /**
     * Products with more input rows than this are compute-bound (prefill): they run whole, on libtorch's
     * own threads, rather than split into memory-bound row blocks.
     */
    static final long MAX_SPLIT_ROWS = 64;

    private static volatile int parallelism = 1;
    private static volatile ExecutorService pool;
    private static int torchThreads = -1;

    private MatmulPool() {}

    public static synchronized void configure(int ways) {
        int n = Math.max(1, ways);
        if (pool != null && n != parallelism) {
            pool.shutdown();
            pool = null;
        }
        parallelism = n;
        if (n > 1 && pool == null) {
            pool = Executors.newFixedThreadPool(n - 1, r -> {
                Thread t = new Thread(() -> {
                    TorchRuntime.prepareInferenceThread();
                    // Each block is one core's work: libtorch must not fan it out again.
                    ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
                    r.run();
                }, "matmul");
                t.setDaemon(true);
                return t;
            });
        }
    }

    public static int parallelism() {
        return parallelism;
    }

    /**
     * Called by the model thread before a forward pass over {@code rows} token rows: decoding splits
     * products across the pool with one libtorch thread each; prefill runs whole on all cores.
     */
    public static void prepareForRows(long rows) {
        if (parallelism <= 1) {
            return;
        }
        int wanted = rows > MAX_SPLIT_ROWS ? parallelism : 1;
        if (wanted != torchThreads) {
            ai.djl.pytorch.jni.JniUtils.setNumThreads(wanted);
            torchThreads = wanted;
        }
    }

    static <T> Future<T> submit(Callable<T> task) {
        return pool.submit(task);
    }
}
