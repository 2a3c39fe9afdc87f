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
}
