package io.github.transformerslm.runtime;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Starts libtorch once with the thread counts decided by configuration. The thread properties are read
 * when the native library loads, so they are set before the first call to the engine.
 */
public final class TorchRuntime {
    private static volatile Engine engine;

    private TorchRuntime() {}

    public static synchronized Engine start(int threads) {
        if (engine == null) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
            if (System.getenv("DJL_OFFLINE") == null && System.getProperty("ai.djl.offline") == null) {
                // The native library ships in the jar: never reach for the network.
                System.setProperty("ai.djl.offline", "true");
            }
            engine = Engine.getEngine("PyTorch");
        }
        return engine;
    }

    /** Starts the engine and exits: the Docker build runs this to fetch a CUDA libtorch into the image. */
    public static void main(String[] args) {
        Engine e = start(Runtime.getRuntime().availableProcessors());
        System.out.println("libtorch ready: " + e.getEngineName() + " " + e.getVersion() + ", default device "
                + e.defaultDevice());
    }

    /** Whether arrays land on a GPU by default (a CUDA libtorch with a device present). */
    public static boolean gpu() {
        Engine e = engine;
        return e != null && e.defaultDevice().isGpu();
    }

    /** Grad mode is per thread in libtorch: every thread that runs the model turns it off. */
    public static void prepareInferenceThread() {
        JniUtils.setGradMode(false);
    }
}
