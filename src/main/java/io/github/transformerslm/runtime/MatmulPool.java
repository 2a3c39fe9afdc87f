package io.github.transformerslm.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Threads that compute blocks of large matrix products beside the model thread. Their number is
 * MATMUL_SPLIT - 1 (the model thread computes one block itself); 1 turns splitting off. The service makes
 * one when it starts and hands it to the model it loads, whose products and attention split across it;
 * {@link #close} stops its threads.
 *
 * <p>Workers spin briefly between products instead of parking at once: a decode step hands out about
 * fifty products a fraction of a millisecond apart, and waking a parked thread (a futex and, on a VM, an
 * idle virtual CPU) was measured to cost more than splitting the product saved. After {@link #SPIN_NANOS}
 * without work a worker parks, so an idle service or a prefill running on libtorch's threads is not
 * slowed by it.
 */
public final class MatmulPool implements AutoCloseable {
    /** Below this many weights a product is too small to be worth a thread hand-off. */
    public static final long MIN_SPLIT_ELEMENTS = 256L * 1024;
    /**
     * A forward pass over more rows than this is a prefill: libtorch's own operations (attention, norms) get
     * every core. Where the vector kernels are unavailable, its products with more rows also run whole on
     * libtorch's threads rather than split into memory-bound row blocks.
     */
    public static final long MAX_SPLIT_ROWS = 64;
    /** How long an idle worker keeps polling for the next block before it parks. */
    static final long SPIN_NANOS = 2_000_000;

    /** The calling thread alone: no workers to start or stop (tests, tools, single-threaded use). */
    public static final MatmulPool CALLER_ONLY = new MatmulPool(1);

    private final int parallelism;
    private final List<Worker> workers;
    /** libtorch's intra-op threads as last set from the model thread; -1 before the first pass. */
    private int torchThreads = -1;

    /** {@code ways} threads in all: the caller's and {@code ways - 1} workers, started now. */
    public MatmulPool(int ways) {
        this.parallelism = Math.max(1, ways);
        List<Worker> started = new ArrayList<>();
        for (int i = 1; i < parallelism; i++) {
            Worker w = new Worker();
            Thread t = new Thread(w, "matmul-" + i);
            t.setDaemon(true);
            w.thread = t;
            t.start();
            started.add(w);
        }
        this.workers = List.copyOf(started);
    }

    public int parallelism() {
        return parallelism;
    }

    /**
     * Stops the workers and waits for each to leave the task it is in, so that the weights a late worker of
     * a {@link #share}d product still reads may be released after; the pool must not be used after.
     */
    @Override
    public void close() {
        workers.forEach(Worker::stop);
        for (Worker w : workers) {
            try {
                w.thread.join(CLOSE_WAIT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Returns once no worker is inside a task: before memory that a late worker of a {@link #share}d task
     * may still read (a cache that grows) is released.
     */
    public void awaitIdle() {
        for (Worker w : workers) {
            w.await();
        }
    }

    /** How long close waits for a worker: a late chunk takes milliseconds; a hung worker must not hang a shutdown. */
    private static final long CLOSE_WAIT_MILLIS = 10_000;

    /**
     * Called by the model thread before a forward pass over {@code rows} token rows: decoding splits
     * products across the pool with one libtorch thread each; prefill runs whole on all cores.
     */
    public void prepareForRows(long rows) {
        if (parallelism <= 1) {
            return;
        }
        int wanted = rows > MAX_SPLIT_ROWS ? parallelism : 1;
        if (wanted != torchThreads) {
            ai.djl.pytorch.jni.JniUtils.setNumThreads(wanted);
            torchThreads = wanted;
        }
    }

    /**
     * Runs {@code task} for {@code 0..tasks-1} spread over the pool's threads, the caller's among them, and
     * returns when all are done (a failure is rethrown here): independent work of the model thread outside
     * the products, such as sampling each sequence of a decode step.
     */
    public void forEach(int tasks, IntConsumer task) {
        int ways = Math.min(parallelism, tasks);
        if (ways <= 1) {
            for (int t = 0; t < tasks; t++) {
                task.accept(t);
            }
            return;
        }
        run(ways, block -> {
            for (int t = block; t < tasks; t += ways) {
                task.accept(t);
            }
        });
    }

    /**
     * Runs {@code body} for blocks {@code 0..blocks-1}: block 0 on the calling thread, the others on the
     * workers, and returns when all are done. A block's failure is rethrown here. One caller at a time (the
     * model thread decoding, a loader packing weights): the workers take one task each. A worker still busy
     * with a task {@link #share} left behind does not take one: the caller runs that block itself.
     */
    public synchronized void run(int blocks, IntConsumer body) {
        List<Worker> pool = workers;
        if (blocks - 1 > pool.size()) {
            throw new IllegalStateException(blocks + " blocks for " + (pool.size() + 1) + " threads");
        }
        Task[] handed = new Task[blocks];
        for (int k = 1; k < blocks; k++) {
            handed[k] = pool.get(k - 1).offerIfIdle(body, k);
        }
        RuntimeException failure = null;
        for (int k = 0; k < blocks; k++) {
            if (k > 0 && handed[k] != null) {
                continue;
            }
            try {
                body.accept(k);
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        for (int k = 1; k < blocks; k++) {
            if (handed[k] != null) {
                RuntimeException e = handed[k].await();
                failure = failure == null ? e : failure;
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Hands {@code body} to every worker (with its worker number, from 1) and returns at once, without
     * waiting for them: for work that the caller takes its own share of and completes itself whether or
     * not a worker shows up ({@link SharedChunks}). A worker still inside an earlier body takes this one as
     * soon as it leaves that one, unless a later body replaced it first; a worker that is slow to start or
     * stops midway delays nothing. Failures inside the body are the body's to handle.
     */
    public synchronized void share(IntConsumer body) {
        for (int k = 1; k <= workers.size(); k++) {
            workers.get(k - 1).hand(new Task(body, k));
        }
    }

    /** A body for one worker, and whether (and how) the worker finished it. */
    private static final class Task {
        final IntConsumer body;
        final int block;
        private volatile boolean done;
        private volatile RuntimeException failure;

        Task(IntConsumer body, int block) {
            this.body = body;
            this.block = block;
        }

        void runHere() {
            try {
                body.accept(block);
            } catch (RuntimeException e) {
                failure = e;
            } catch (Error e) {
                failure = new IllegalStateException("a block on " + Thread.currentThread().getName() + " failed: " + e, e);
            }
            done = true;
        }

        RuntimeException await() {
            while (!done) {
                Thread.onSpinWait();
            }
            return failure;
        }
    }

    /**
     * A worker takes its next task from a one-slot mailbox. Why not hand a task only to an idle worker: a
     * worker finishing a product's last chunk was still inside that body when the model thread, a few
     * microseconds later, handed out the next product, and the model thread then computed that product
     * alone; through the mailbox the worker joins it as soon as it is free.
     */
    private static final class Worker implements Runnable {
        private final AtomicReference<Task> mailbox = new AtomicReference<>();
        private volatile boolean busy;
        private volatile boolean parked;
        private volatile boolean stopped;
        private Thread thread;

        /** Puts {@code task} in the mailbox, replacing one not yet taken. */
        void hand(Task task) {
            mailbox.set(task);
            if (parked) {
                LockSupport.unpark(thread);
            }
        }

        /** Hands {@code body} for block k unless busy with an earlier task: the task, or null if not handed. */
        Task offerIfIdle(IntConsumer body, int k) {
            if (busy) {
                return null;
            }
            Task task = new Task(body, k);
            hand(task);
            return task;
        }

        /** Returns once this worker is outside any task. */
        void await() {
            while (busy) {
                Thread.onSpinWait();
            }
        }

        void stop() {
            stopped = true;
            LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            try {
                TorchRuntime.prepareInferenceThread();
                // Each block is one core's work: libtorch must not fan it out again.
                ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
            } catch (RuntimeException | LinkageError e) {
                // No engine yet (a pool configured before it starts): the thread still takes blocks of Java
                // work. Dying here instead had left run() waiting for it forever.
            }
            long idleSince = System.nanoTime();
            while (!stopped) {
                if (mailbox.get() == null) {
                    if (System.nanoTime() - idleSince < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        parked = true;
                        if (mailbox.get() == null && !stopped) {
                            LockSupport.park(this);
                        }
                        parked = false;
                        idleSince = System.nanoTime();
                    }
                    continue;
                }
                // Busy before the task is taken, so that a task is never run unseen by awaitIdle. A task that
                // awaitIdle misses here (taken just after it returned) is a shared one whose product has
                // returned: every chunk is claimed, and it leaves without touching memory.
                busy = true;
                Task task = mailbox.getAndSet(null);
                if (task != null) {
                    task.runHere();
                }
                busy = false;
                idleSince = System.nanoTime();
            }
        }
    }
}
