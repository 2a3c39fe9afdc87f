package io.github.transformerslm.model.nn;

/** MatmulPool.run with an empty body: the cost of handing a block to the worker and waiting for it (not a test). */
public final class HandoffLatency {
    public static void main(String[] args) throws Exception {
        MatmulPool.configure(2);
        for (int round = 0; round < 5; round++) {
            int n = 200_000;
            long[] samples = new long[n];
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                MatmulPool.run(2, k -> { });
                samples[i] = System.nanoTime() - t0;
                if (i % 64 == 0) {
                    long until = System.nanoTime() + 20_000; // a gap, as between products
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                }
            }
            java.util.Arrays.sort(samples);
            System.out.printf("handoff: median %d ns, p90 %d ns, p99 %d ns, p99.9 %d ns, max %d ns%n", samples[n / 2],
                    samples[n * 9 / 10], samples[n * 99 / 100], samples[n * 999 / 1000], samples[n - 1]);
        }
    }
}
