package io.github.transformerslm.runtime;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * libtorch, started with the thread counts decided by configuration. The thread properties are read when
 * the native library loads, so the first start in a process decides them; DJL keeps the one engine, and a
 * later start returns it as it is.
 */
public final class TorchRuntime {
    private final Engine engine;

    private TorchRuntime(Engine engine) {
        this.engine = engine;
    }

    public static synchronized TorchRuntime start(int threads) {
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        if (System.getenv("DJL_OFFLINE") == null && System.getProperty("ai.djl.offline") == null) {
            // The native library ships in the jar: never reach for the network.
            System.setProperty("ai.djl.offline", "true");
        }
        return new TorchRuntime(Engine.getEngine("PyTorch"));
    }

    public Engine engine() {
        return engine;
    }

    /** Starts the engine and exits: the Docker build runs this to fetch a CUDA libtorch into the image. */
    public static void main(String[] args) {
        Engine e = start(Runtime.getRuntime().availableProcessors()).engine();
        System.out.println("libtorch ready: " + e.getEngineName() + " " + e.getVersion() + ", default device "
                + e.defaultDevice());
    }

    /** Whether arrays land on a GPU by default (a CUDA libtorch with a device present). */
    public boolean gpu() {
        return engine.defaultDevice().isGpu();
    }

    /** Grad mode is per thread in libtorch: every thread that runs the model turns it off. */
    public static void prepareInferenceThread() {
        JniUtils.setGradMode(false);
    }
}
