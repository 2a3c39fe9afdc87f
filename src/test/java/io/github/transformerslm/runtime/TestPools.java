package io.github.transformerslm.runtime;

/** Matmul pools for tests that split products and attention across threads. */
public final class TestPools {
    /**
     * The model thread and one worker, as on the project's 2-core machines: one pool for every test of the
     * JVM, whose daemon worker ends with it.
     */
    private static final MatmulPool TWO_THREADS = new MatmulPool(2);

    private TestPools() {}

    /** The calling thread alone for 1, the shared two-thread pool for 2. */
    public static MatmulPool of(int split) {
        if (split < 1 || split > 2) {
            throw new IllegalArgumentException("split " + split);
        }
        return split == 1 ? MatmulPool.CALLER_ONLY : TWO_THREADS;
    }

    /** A worker held inside a shared body until {@link #close}: a virtual CPU the host has stopped. */
    public static final class HeldWorker implements AutoCloseable {
        private final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

        @Override
        public void close() {
            release.countDown();
        }
    }

    /** Hands {@code pool}'s worker a body that holds it until the result is closed; returns once it is inside. */
    public static HeldWorker holdWorker(MatmulPool pool) throws InterruptedException {
        HeldWorker held = new HeldWorker();
        java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
        pool.share(worker -> {
            inside.countDown();
            try {
                held.release.await(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        if (!inside.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
            held.close();
            throw new AssertionError("the worker did not take the body within 10 s");
        }
        return held;
    }
}
