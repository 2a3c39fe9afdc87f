package io.github.transformerslm.serving;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the tests that call tensor operations directly: the engine as the model thread has it
 * ({@link TestEngine}) and a manager for the class's tensors, closed after its last test.
 */
public abstract class EngineTest {
    protected static NDManager manager;

    @BeforeAll
    static void startEngine() {
        manager = TestEngine.startOnThisThread();
    }

    @AfterAll
    static void closeManager() {
        manager.close();
    }
}
