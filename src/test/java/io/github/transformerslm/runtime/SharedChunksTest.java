package io.github.transformerslm.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * A split product's chunks: the caller never waits long for a stopped worker, and a late worker never writes
 * into a product the caller has finished.
 */
class SharedChunksTest {

    @Test
    void theCallerTakesBackTheChunkOfAWorkerThatStoppedAndTheWorkersLateCopyIsDropped() throws Exception {
        SharedChunks chunks = new SharedChunks(4);
        AtomicIntegerArray written = new AtomicIntegerArray(4); // who wrote chunk c: 1 the caller, 2 the worker
        CountDownLatch claimed = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        AtomicBoolean workerPublished = new AtomicBoolean(true);
        Thread worker = new Thread(() -> {
            int c = chunks.claim();
            claimed.countDown();
            try {
                resume.await(30, TimeUnit.SECONDS); // descheduled in the middle of its chunk
            } catch (InterruptedException e) {
                return;
            }
            boolean published = chunks.publish(c);
            workerPublished.set(published);
            if (published) {
                written.set(c, 2);
                chunks.done(c);
            }
        });
        worker.start();
        assertThat(claimed.await(10, TimeUnit.SECONDS)).isTrue();

        for (int c = chunks.claim(); c >= 0; c = chunks.claim()) {
            written.set(c, 1);
            chunks.done(c);
        }
        long start = System.nanoTime();
        int takenBack = chunks.finish(1_000_000, c -> written.set(c, 1));
        double waitedMs = (System.nanoTime() - start) / 1e6;
        resume.countDown();
        worker.join(10_000);

        assertThat(takenBack).isEqualTo(1);
        assertThat(waitedMs).as("waited about the grace, not for the worker").isLessThan(5_000);
        assertThat(workerPublished).isFalse();
        for (int c = 0; c < 4; c++) {
            assertThat(written.get(c)).as("chunk %d", c).isEqualTo(1);
        }
    }

    @Test
    void aWorkerThatDeliversInTimeIsWaitedForAndNothingIsComputedTwice() throws Exception {
        SharedChunks chunks = new SharedChunks(2);
        AtomicIntegerArray writes = new AtomicIntegerArray(2);
        CountDownLatch claimed = new CountDownLatch(1);
        Thread worker = new Thread(() -> {
            int c = chunks.claim();
            claimed.countDown();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            if (chunks.publish(c)) {
                writes.incrementAndGet(c);
                chunks.done(c);
            }
        });
        worker.start();
        assertThat(claimed.await(10, TimeUnit.SECONDS)).isTrue();
        for (int c = chunks.claim(); c >= 0; c = chunks.claim()) {
            writes.incrementAndGet(c);
            chunks.done(c);
        }

        int takenBack = chunks.finish(TimeUnit.SECONDS.toNanos(30), writes::incrementAndGet);
        worker.join(10_000);

        assertThat(takenBack).isZero();
        assertThat(writes.get(0)).isEqualTo(1);
        assertThat(writes.get(1)).isEqualTo(1);
    }
}
