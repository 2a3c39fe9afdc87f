package io.github.transformerslm.serving;

import io.github.transformerslm.runtime.TorchRuntime;
import ai.djl.ndarray.NDManager;

/** The engine as the model thread has it (one libtorch thread, inference mode), for tests that call operations directly. */
public final class TestEngine {
    private TestEngine() {}

    /** Starts the engine, prepares the calling thread and returns a new base manager (the caller closes it). */
    public static NDManager startOnThisThread() {
        TorchRuntime.start(1);
        TorchRuntime.prepareInferenceThread();
        return NDManager.newBaseManager();
    }
}
