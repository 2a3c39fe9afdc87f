package io.github.transformerslm.serving;

import io.github.transformerslm.generation.ContinuousBatcher;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.SequenceListener;
import java.time.Instant;

/**
 * A request handed to the model thread. Any thread may cancel it; the model thread passes the
 * cancellation to the batcher, which drops the request at its next step.
 */
public final class Submission {
    final GenerationRow row;
    final SequenceListener listener;
    final Instant deadline;
    private volatile Throwable cancellation;
    final long submittedNanos = System.nanoTime();
    volatile long firstTokenNanos; // set on the model thread at the first token
    ContinuousBatcher.Handle handle; // set on the model thread

    Submission(GenerationRow row, SequenceListener listener, Instant deadline) {
        this.row = row;
        this.listener = listener;
        this.deadline = deadline;
    }

    public void cancel(Throwable reason) {
        cancellation = reason;
    }

    Throwable cancellation() {
        return cancellation;
    }
}
