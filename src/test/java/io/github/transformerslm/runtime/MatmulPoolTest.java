package io.github.transformerslm.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
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
    void oneThreadRunsTheTasksInOrderOnTheCaller() {
        StringBuilder order = new StringBuilder();
        MatmulPool.CALLER_ONLY.forEach(3, t -> order.append(t).append(Thread.currentThread().getName()));
        String me = Thread.currentThread().getName();
        assertThat(order.toString()).isEqualTo("0" + me + "1" + me + "2" + me);
    }
}
