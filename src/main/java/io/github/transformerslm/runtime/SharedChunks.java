package io.github.transformerslm.runtime;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntConsumer;

/**
 * The chunks of one split product ({@link MatmulPool#share}), claimed in turn by the calling thread and the
 * pool's workers, where the caller never waits long for a worker. A worker computes its chunk aside and
 * writes it out only if the caller has not taken it back ({@link #publish}); the caller, once nothing is
 * left to claim, takes back any chunk whose worker has not delivered it within a grace period and computes
 * it itself ({@link #finish}).
 *
 * <p>Why: on a shared virtual machine the host deschedules a virtual CPU for milliseconds at a time, and a
 * worker it stops in the middle of a chunk held the whole step until the host ran it again: over rounds of
 * a decode step's products (ProductBenchmark), 1% of products waited 0.3 to 6 ms for their worker, as long
 * as the other 99% took together. Taking the chunk back costs about one chunk's time instead of the outage. A late worker that
 * resumes finds its chunk taken and drops what it computed; it never writes into a product that has
 * returned.
 */
public final class SharedChunks {
    /** One split piece of work: its chunks, computed into the output or aside, and copied out from aside. */
    public interface Work {
        /**
         * Computes chunk {@code c}: into the work's output when {@code intoOutput} (the calling thread), else
         * into the calling worker's own buffer.
         */
        void compute(int c, boolean intoOutput);

        /** Copies chunk {@code c} from the calling worker's own buffer into the work's output. */
        void copyOut(int c);
    }

    /** How late a worker's chunk may be when the caller computed none of its own to compare with. */
    private static final long LATE_WITHOUT_OWN_CHUNK_NANOS = 200_000;
    /** Added to the grace, so that chunks of a few microseconds are not taken back for a cache miss. */
    private static final long LATE_MARGIN_NANOS = 10_000;

    /**
     * Runs chunks {@code [0, count)} of {@code work} on the calling thread and on the pool's idle workers, and
     * returns when all are in the output. A worker's chunk late by twice the time the caller's own chunks
     * took (plus a margin) is taken back and computed here.
     */
    public static void run(MatmulPool pool, int count, Work work) {
        SharedChunks shared = new SharedChunks(count);
        pool.share(worker -> {
            for (int c = shared.claim(); c >= 0; c = shared.claim()) {
                work.compute(c, false);
                if (shared.publish(c)) {
                    work.copyOut(c);
                    shared.done(c);
                }
            }
        });
        long start = System.nanoTime();
        int mine = 0;
        for (int c = shared.claim(); c >= 0; c = shared.claim()) {
            work.compute(c, true);
            shared.done(c);
            mine++;
        }
        long perChunk = mine == 0 ? LATE_WITHOUT_OWN_CHUNK_NANOS : (System.nanoTime() - start) / mine;
        shared.finish(2 * perChunk + LATE_MARGIN_NANOS, c -> work.compute(c, true));
    }

    private static final int CLAIMED = 0; // claimed (or not yet claimed) and not delivered
    private static final int PUBLISHING = 1; // a worker is writing it out
    private static final int DONE = 2; // written out, or taken back by the caller

    private final int count;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicIntegerArray state;

    public SharedChunks(int count) {
        this.count = count;
        this.state = new AtomicIntegerArray(count);
    }

    /** The next chunk to compute, or -1 when all are claimed. */
    public int claim() {
        int c = next.getAndIncrement();
        return c < count ? c : -1;
    }

    /**
     * A worker computed chunk {@code c} aside: true if it may now write it out (and then calls {@link #done}),
     * false if the caller took it back (the worker drops its copy).
     */
    public boolean publish(int c) {
        return state.compareAndSet(c, CLAIMED, PUBLISHING);
    }

    /** Chunk {@code c} is written out. */
    public void done(int c) {
        state.set(c, DONE);
    }

    /**
     * On the calling thread, once {@link #claim} has run dry: returns when every chunk is written out. A chunk
     * still undelivered {@code graceNanos} after the caller began waiting for it is taken back and computed
     * here by {@code computeHere}.
     *
     * @return how many chunks were taken back
     */
    public int finish(long graceNanos, IntConsumer computeHere) {
        int takenBack = 0;
        for (int c = 0; c < count; c++) {
            if (state.get(c) == DONE) {
                continue;
            }
            long since = System.nanoTime();
            for (int s = state.get(c); s != DONE; s = state.get(c)) {
                if (s == CLAIMED && System.nanoTime() - since > graceNanos && state.compareAndSet(c, CLAIMED, DONE)) {
                    computeHere.accept(c);
                    takenBack++;
                    break;
                }
                Thread.onSpinWait();
            }
        }
        return takenBack;
    }
}
