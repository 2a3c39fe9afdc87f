package io.github.transformerslm.model.nn;

/**
 * The Vector API checks every vector load against its array's or buffer's bounds unless
 * {@code jdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0}, and in the decode kernels those checks cost a
 * noticeable share of a step. Every index the kernels use follows from the model's shapes and the batch limit,
 * never from what a request sends, and the tests run with the checks on (they never call
 * {@link #offUnlessConfigured}), so an index bug fails a test rather than reading stray memory. The
 * service and the benchmarks turn them off before the Vector API is first loaded; setting the property on
 * the command line wins.
 */
public final class VectorBoundsChecks {
    static final String PROPERTY = "jdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK";

    private VectorBoundsChecks() {}

    /** Call first thing in main: the Vector API reads the property once, when its classes load. */
    public static void offUnlessConfigured() {
        if (System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, "0");
        }
    }

    /** Whether vector loads and stores are bounds-checked in this JVM. */
    public static boolean on() {
        return !"0".equals(System.getProperty(PROPERTY, "2").trim());
    }
}
