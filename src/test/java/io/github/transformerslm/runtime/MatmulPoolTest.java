package io.github.transformerslm.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;

/**
 * The pool's forEach, which a decode step's units sample through side by side. The engine need not be
 * started: a worker that cannot set libtorch's threads still takes its blocks (it had died, and run()
 * waited for it forever).
 */
class MatmulPoolTest {

    @Test
    void forEachRunsEveryTaskOnceOnThePoolsThreads() {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        AtomicIntegerArray runs = new AtomicIntegerArray(9);

        try (MatmulPool pool = new MatmulPool(2)) {
            pool.forEach(9, t -> {
                runs.incrementAndGet(t);
                threads.add(Thread.currentThread().getName());
            });
        }

        for (int t = 0; t < 9; t++) {
            assertThat(runs.get(t)).as("task %d", t).isEqualTo(1);
        }
        assertThat(threads).hasSize(2).contains(Thread.currentThread().getName());
    }

    @Test
    void forEachRethrowsATasksFailureAfterTheOthersRan() {
        AtomicIntegerArray runs = new AtomicIntegerArray(4);

        try (MatmulPool pool = new MatmulPool(2)) {
            assertThatThrownBy(() -> pool.forEach(4, t -> {
                runs.incrementAndGet(t);
                if (t == 3) {
                    throw new IllegalStateException("unit 3 failed");
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("unit 3 failed");
        }
        assertThat(runs.get(0) + runs.get(1) + runs.get(2)).isEqualTo(3);
    }

    @Test
    void runDoesNotWaitForAWorkerStillBusyWithASharedBody() throws InterruptedException {
        String me = Thread.currentThread().getName();
        Set<String> threads = ConcurrentHashMap.newKeySet();

        try (MatmulPool pool = new MatmulPool(2)) {
            try (TestPools.HeldWorker held = TestPools.holdWorker(pool)) {
                // The worker is stuck in the shared body: both blocks run here instead of waiting for it.
                pool.forEach(4, t -> threads.add(Thread.currentThread().getName()));
                assertThat(threads).containsExactly(me);
            }
            threads.clear();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); // the worker first wakes from its latch
            while (System.nanoTime() < deadline && threads.size() < 2) {
                pool.forEach(2, t -> threads.add(Thread.currentThread().getName()));
            }
            assertThat(threads).as("the worker takes blocks again once free").hasSize(2);
        }
    }

    @Test
    void aWorkerStillInsideASharedBodyTakesTheNextOneAsSoonAsItLeaves() throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch nextRan = new CountDownLatch(1);
        Set<String> replaced = ConcurrentHashMap.newKeySet();
        Set<String> next = ConcurrentHashMap.newKeySet();

        try (MatmulPool pool = new MatmulPool(2)) {
            pool.share(worker -> {
                held.countDown();
                await(release);
            });
            assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
            pool.share(worker -> replaced.add(Thread.currentThread().getName()));
            pool.share(worker -> {
                next.add(Thread.currentThread().getName());
                nextRan.countDown();
            });
            release.countDown();

            assertThat(nextRan.await(10, TimeUnit.SECONDS)).as("the latest body runs once the worker is free").isTrue();
            assertThat(next).containsExactly("matmul-1");
            assertThat(replaced).as("a body replaced before the worker took it is not run").isEmpty();
        }
    }

    @Test
    void closeWaitsForAWorkerToLeaveTheSharedBodyItIsIn() throws InterruptedException {
        MatmulPool pool = new MatmulPool(2);
        java.util.concurrent.atomic.AtomicBoolean left = lateChunkOnTheWorker(pool);

        pool.close();

        assertThat(left).as("the worker left its chunk before close returned (the weights may be freed now)").isTrue();
    }

    @Test
    void awaitIdleReturnsOnlyOnceNoWorkerIsInsideASharedBody() throws InterruptedException {
        try (MatmulPool pool = new MatmulPool(2)) {
            java.util.concurrent.atomic.AtomicBoolean left = lateChunkOnTheWorker(pool);

            pool.awaitIdle();

            assertThat(left).as("a cache's memory may be released now").isTrue();
        }
    }

    /** A shared body that the worker is inside of on return, and leaves 300 ms later (a late chunk still reading memory). */
    private static java.util.concurrent.atomic.AtomicBoolean lateChunkOnTheWorker(MatmulPool pool) throws InterruptedException {
        CountDownLatch entered = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean left = new java.util.concurrent.atomic.AtomicBoolean();
        IntConsumer lateChunk = worker -> {
            entered.countDown();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            left.set(true);
        };
        pool.share(lateChunk);
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        return left;
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void oneThreadRunsTheTasksInOrderOnTheCaller() {
        StringBuilder order = new StringBuilder();
        MatmulPool.CALLER_ONLY.forEach(3, t -> order.append(t).append(Thread.currentThread().getName()));
        String me = Thread.currentThread().getName();
        assertThat(order.toString()).isEqualTo("0" + me + "1" + me + "2" + me);
    }
}
