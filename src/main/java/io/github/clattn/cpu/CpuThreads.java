package io.github.clattn.cpu;

import io.github.clattn.core.SystemProperties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads the pure-Java path computes on: one pool shared by every layer of the process.
 *
 * <p>The size is read once from the system property {@value #THREADS_PROPERTY} (a positive
 * integer; default: {@link Runtime#availableProcessors()}) and can be changed at any time with
 * {@link #setThreads(int)}. A call counts as one of the threads: a pool of size {@code n} keeps
 * {@code n - 1} daemon workers ({@code clattn-cpu-1 ..}) that help the calling thread.
 *
 * <p>Results never depend on the size: the work of a call is cut into tasks from the shapes
 * alone, each output element is computed by exactly one task in a fixed order, and the threads
 * only decide who runs which task. Thread-safe.
 */
public final class CpuThreads {
    /** System property giving the pool size, read when this class is first used. */
    public static final String THREADS_PROPERTY = "clattn.threads";

    private static final Logger LOG = LoggerFactory.getLogger(CpuThreads.class);

    /**
     * Below this much work (in multiply-adds) a parallel region runs on the calling thread: waking
     * a worker costs a few microseconds, about what 10^5 multiply-adds take.
     */
    static final long INLINE_WORK = 200_000;

    /** System property giving how long idle threads spin before they park, in microseconds, read once. */
    public static final String SPIN_PROPERTY = "clattn.spin.micros";

    /** The spin without {@value #SPIN_PROPERTY}: 1 ms. */
    static final int DEFAULT_SPIN_MICROS = 1000;

    /**
     * How long an idle worker, and a caller waiting alone for its last tasks, spin before they park:
     * waking a parked thread takes tens of microseconds on a virtual machine, as long as a small
     * call's whole parallel region. Measured on a 2-core VM at N = 128 (D 512, H 8), calls taken in
     * short turns after 50 ms pauses ({@code scripts/compare-ort}): 0.92-1.3 ms with a spin of 30
     * µs, 0.71-0.74 ms with 100 µs, 0.64-0.73 ms with 0.3-3 ms (ONNX Runtime's threads spin about
     * 25 ms after a run); back to back and beside a busy process, 1 ms was no slower than 30 µs.
     * An idle worker thus burns at most this much CPU after each call; 0 parks at once.
     */
    static final long SPIN_NANOS = 1000L * SystemProperties.intProperty(SPIN_PROPERTY, DEFAULT_SPIN_MICROS, 0,
            value -> LOG.warn("-D{}={} is not a non-negative integer; idle threads spin {} microseconds", SPIN_PROPERTY,
                    value, DEFAULT_SPIN_MICROS));

    /**
     * How long a caller waiting for its last tasks spins while other calls are in a parallel region
     * too (then the cores have other work, which a long spin would hold up): with two or three
     * callers on two cores and a 1 ms spin, calls per second fell about 7 % below a 30 µs spin;
     * with this, they did not (in-process A/B, N = 128).
     */
    static final long CROWDED_SPIN_NANOS = Math.min(SPIN_NANOS, 30_000);

    /** Calls of this process inside a parallel region now ({@link #forEach}). */
    private static final AtomicInteger CALLERS_IN_REGIONS = new AtomicInteger();

    /**
     * How long a caller that has run out of tasks spins before it parks: {@link #SPIN_NANOS}
     * when its call is the only one in a parallel region, else {@link #CROWDED_SPIN_NANOS}.
     */
    static long waitSpinNanos() {
        return CALLERS_IN_REGIONS.get() > 1 ? CROWDED_SPIN_NANOS : SPIN_NANOS;
    }

    private static final AtomicReference<Pool> POOL = new AtomicReference<>(new Pool(initialThreads()));

    private CpuThreads() {
    }

    /** The number of threads a call may use, the calling thread included (at least 1). */
    public static int threads() {
        return POOL.get().threads;
    }

    /**
     * Resizes the shared pool. Calls already running finish on the old workers; later calls use
     * the new size.
     *
     * @throws IllegalArgumentException {@code threads < 1}
     */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected a positive thread count, got " + threads);
        }
        Pool old = POOL.getAndSet(new Pool(threads));
        old.shutdown();
        LOG.debug("Java path thread pool resized from {} to {} threads", old.threads, threads);
    }

    private static int initialThreads() {
        int cores = Runtime.getRuntime().availableProcessors();
        return SystemProperties.intProperty(THREADS_PROPERTY, cores, 1, value -> LOG.warn(
                "-D{}={} is not a positive integer; using {} threads (the available processors)", THREADS_PROPERTY,
                value, cores));
    }

    /**
     * Runs {@code body.accept(t)} for every task {@code t} in {@code [0, tasks)}, each exactly once,
     * on the calling thread and the pool's workers; returns when all have finished. Small regions
     * ({@code tasks * workPerTask < INLINE_WORK}) and a pool of one run inline, in task order. The
     * first exception a task throws is rethrown here once every started task has ended.
     */
    static void forEach(int tasks, long workPerTask, IntConsumer body) {
        Pool pool = POOL.get();
        if (tasks <= 1 || pool.threads == 1 || tasks * workPerTask < INLINE_WORK) {
            for (int t = 0; t < tasks; t++) {
                body.accept(t);
            }
            return;
        }
        Region region = new Region(tasks, body);
        CALLERS_IN_REGIONS.incrementAndGet();
        try {
            pool.offer(region, Math.min(pool.threads - 1, tasks - 1));
            region.work();
            region.await();
        } finally {
            CALLERS_IN_REGIONS.decrementAndGet();
        }
    }

    /** One parallel region: tasks handed out in order from a counter, so no task runs twice. */
    private static final class Region implements Runnable {
        private final int tasks;
        private final IntConsumer body;
        private final Thread caller = Thread.currentThread();
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger unfinished;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Region(int tasks, IntConsumer body) {
            this.tasks = tasks;
            this.body = body;
            this.unfinished = new AtomicInteger(tasks);
        }

        @Override
        public void run() {
            work();
        }

        void work() {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) {
                try {
                    if (failure.get() == null) {
                        body.accept(t);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    if (unfinished.decrementAndGet() == 0) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }

        /**
         * Waits for the tasks other threads took (spinning {@link #waitSpinNanos()}, then parked);
         * helpers queued but not started find none left.
         */
        void await() {
            long spinUntil = System.nanoTime() + waitSpinNanos();
            while (unfinished.get() > 0) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            Throwable e = failure.get();
            if (e instanceof RuntimeException r) {
                throw r;
            }
            if (e instanceof Error err) {
                throw err;
            }
            if (e != null) {
                throw new IllegalStateException("Java attention task failed", e);
            }
        }
    }

    /**
     * {@code threads - 1} daemon workers taking regions from a queue; the caller of each region is
     * the remaining thread. An idle worker spins for {@link #SPIN_NANOS} before it parks, so the
     * regions of one call, a few microseconds apart, find it awake.
     */
    private static final class Pool {
        final int threads;
        private final Thread[] workers;
        private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
        private volatile boolean shutdown;

        Pool(int threads) {
            this.threads = threads;
            this.workers = new Thread[threads - 1];
            for (int i = 0; i < workers.length; i++) {
                Thread t = new Thread(this::workLoop, "clattn-cpu-" + (i + 1));
                t.setDaemon(true);
                workers[i] = t;
                t.start();
            }
        }

        /** Queues {@code copies} helpers for {@code region}; after {@link #shutdown()} the caller does it all. */
        void offer(Runnable region, int copies) {
            if (shutdown) {
                return;
            }
            for (int i = 0; i < copies; i++) {
                queue.offer(region);
            }
            for (Thread worker : workers) {
                LockSupport.unpark(worker); // no effect on a spinning worker beyond one spare wake-up
            }
        }

        private void workLoop() {
            long idleSince = System.nanoTime();
            while (!shutdown) {
                Runnable region = queue.poll();
                if (region != null) {
                    region.run();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                    idleSince = System.nanoTime();
                }
            }
            // regions still queued are finished by their callers, who never wait on a helper
        }

        void shutdown() {
            shutdown = true;
            for (Thread worker : workers) {
                LockSupport.unpark(worker);
            }
        }
    }
}
