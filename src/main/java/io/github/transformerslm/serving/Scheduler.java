package io.github.transformerslm.serving;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.generation.ContinuousBatcher;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationRow;
import io.github.transformerslm.generation.SequenceListener;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model thread's loop, the second half of the model's life: requests are admitted (all of a request's
 * prompts or none, a full batch plus MAX_QUEUE at most), join the running batch between decode steps, and
 * leave when done, cancelled, out of time, or cut off by a drain.
 */
final class Scheduler {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
    /** How long the batch stays empty before the KV cache's growth is given back. */
    private static final long IDLE_RELEASE_NANOS = 10_000_000_000L;

    private final ServiceProperties properties;
    private final ServingMetrics metrics;
    private final BlockingQueue<Submission> incoming = new LinkedBlockingQueue<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean draining;
    /** Set when the drain's time is up: the loop ends every request still running with it. */
    private volatile RuntimeException cutOff;
    private volatile int runningRequests;
    private volatile long kvCacheBytes;

    Scheduler(ServiceProperties properties, ServingMetrics metrics) {
        this.properties = properties;
        this.metrics = metrics;
        metrics.gauges(() -> runningRequests, () -> Math.max(0, inFlight.get() - runningRequests), () -> kvCacheBytes);
    }

    int inFlight() {
        return inFlight.get();
    }

    void kvCacheBytes(long bytes) {
        kvCacheBytes = bytes;
    }

    /** From now on, new requests are refused with 503. */
    void refuseNew() {
        draining = true;
    }

    /** Ends every request still running with {@code reason}, at the loop's next turn. */
    void cutOff(RuntimeException reason) {
        cutOff = reason;
    }

    /** The scheduler loop: take new requests, enforce cancellations and deadlines, step the batch. */
    void serve(ContinuousBatcher batcher, java.util.function.BooleanSupplier stopping) {
        List<Submission> active = new ArrayList<>();
        long idleSince = System.nanoTime();
        boolean released = true;
        while (!stopping.getAsBoolean()) {
            try {
                Submission next = batcher.hasWork() ? incoming.poll() : incoming.poll(100, TimeUnit.MILLISECONDS);
                while (next != null) {
                    Submission s = next;
                    next = incoming.poll();
                    SequenceListener listener = new SequenceListener() {
                        @Override
                        public void onToken(int sequence, int token, float logprob, List<TokenLogprob> top) {
                            metrics.token(s);
                            s.listener.onToken(sequence, token, logprob, top);
                        }

                        @Override
                        public void onFinish(List<GeneratedSequence> sequences) {
                            inFlight.decrementAndGet();
                            active.remove(s);
                            metrics.finished(s, sequences.stream().mapToInt(q -> q.tokens().length).sum());
                            s.listener.onFinish(sequences);
                        }

                        @Override
                        public void onError(Throwable error) {
                            inFlight.decrementAndGet();
                            active.remove(s);
                            metrics.failed(outcome(error));
                            s.listener.onError(error);
                        }
                    };
                    try {
                        s.handle = batcher.submit(s.row, listener);
                        metrics.admitted(s);
                        active.add(s);
                    } catch (RuntimeException e) {
                        // A request the batcher refuses fails alone, never the batch.
                        active.add(s);
                        listener.onError(e);
                    }
                }
                Instant now = Instant.now();
                RuntimeException cut = cutOff;
                for (Iterator<Submission> it = List.copyOf(active).iterator(); it.hasNext(); ) {
                    Submission s = it.next();
                    if (cut != null) {
                        s.handle.cancel(cut);
                    } else if (s.cancellation() != null) {
                        s.handle.cancel(s.cancellation());
                    } else if (now.isAfter(s.deadline)) {
                        s.handle.cancel(new RequestTimeoutException("the request did not finish before its deadline"));
                    }
                }
                if (batcher.hasWork()) {
                    batcher.step();
                    idleSince = System.nanoTime();
                    released = false;
                } else if (!released && System.nanoTime() - idleSince > IDLE_RELEASE_NANOS) {
                    // Not at once: back-to-back requests would pay the cache's regrowth every time.
                    batcher.releaseIdleMemory();
                    released = true;
                }
                runningRequests = active.size() - batcher.waitingCount();
                kvCacheBytes = batcher.kvCacheBytes();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException | OutOfMemoryError e) {
                log.error("Generation step failed; failing the requests of this batch", e);
                batcher.failAll(e);
            }
        }
    }

    private static String outcome(Throwable error) {
        if (error instanceof RequestTimeoutException) {
            return "timeout";
        }
        return error instanceof java.util.concurrent.CancellationException ? "cancelled" : "failed";
    }

    /**
     * Hands a request to the model thread. Refused at once, before any work, when more requests wait than
     * MAX_QUEUE allows beyond a full batch.
     */
    Submission submit(GenerationRow row, SequenceListener listener, Instant deadline) {
        return submitAll(List.of(row), List.of(listener), deadline).get(0);
    }

    /**
     * Hands several prompts of one request to the model thread, all or none: their places are reserved
     * together, so that a request refused for a full queue leaves nothing behind to crowd out others.
     */
    List<Submission> submitAll(List<GenerationRow> rows, List<SequenceListener> listeners, Instant deadline) {
        if (draining) {
            throw new ModelNotReadyException("the service is shutting down");
        }
        int limit = maxPromptsInFlight();
        int count = rows.size();
        while (true) {
            int now = inFlight.get();
            if (now + count > limit) {
                throw new QueueFullException("the model is busy: " + properties.maxQueue()
                        + " requests already wait for a place in the batch");
            }
            if (inFlight.compareAndSet(now, now + count)) {
                break;
            }
        }
        List<Submission> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Submission s = new Submission(rows.get(i), listeners.get(i), deadline);
            out.add(s);
            incoming.add(s);
        }
        return out;
    }

    /** The most prompts in flight at once: a full batch plus MAX_QUEUE waiting. */
    int maxPromptsInFlight() {
        return properties.maxBatchSize() + properties.maxQueue();
    }

}
