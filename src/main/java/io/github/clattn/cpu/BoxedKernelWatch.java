package io.github.clattn.cpu;

import io.github.clattn.core.ThreadAllocations;
import io.github.clattn.core.Warmup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices attention passes whose Vector API kernels run with their vectors boxed, and then has the
 * copy of the kernels those passes run on ({@link Kernels#manyBlocks}, {@link Kernels#oneBlock})
 * compiled afresh.
 *
 * <p>Why: C2 (JDK 17) sometimes compiles a Vector API kernel without the exact vector type of its
 * values; every vector operation then runs the API's Java fallback and allocates, and the pass
 * runs two to three times slower for the rest of the process (README, "The Java path's JIT slow
 * state"; the measurements in {@code docs/performance-log.md}). A pass on well-compiled kernels allocates almost nothing; one on boxed kernels allocates
 * about 0.15 bytes per multiply-add. So a pass is counted as boxed when the calling thread (which
 * runs its share of the tasks) allocated more than {@link #BYTES_PER_WORK} per multiply-add of the
 * whole pass and more than {@link #MIN_BYTES}, while the JIT finished no compilation (interpreted
 * and C1-compiled kernels allocate too, until C2 has compiled them). When the passes on one copy
 * of the kernels have been boxed for {@link #STREAK_NANOS} without a break (at least
 * {@link #MIN_STREAK} passes), that copy is replaced by a fresh one ({@link Kernels#renewCopy}),
 * which the JIT profiles and compiles anew; at most {@link VectorKernels#MAX_RENEWALS} times per
 * process. Each replacement is logged at WARN.
 *
 * <p>Where the JVM cannot count a thread's allocations ({@link ThreadAllocations} gives -1)
 * nothing is watched. The cost is two reads of counters per pass.
 */
final class BoxedKernelWatch {
    private static final Logger LOG = LoggerFactory.getLogger(BoxedKernelWatch.class);

    static final double BYTES_PER_WORK = 0.01;
    static final long MIN_BYTES = 1 << 20;
    static final int MIN_STREAK = 3;
    static final long STREAK_NANOS = 2_000_000_000L;

    static {
        if (ThreadAllocations.current() < 0) {
            LOG.debug("boxed Vector API kernels are not watched for: the JVM does not count a thread's allocations");
        }
    }

    private BoxedKernelWatch() {
    }

    /** What {@link #after} compares: the calling thread's allocations and the JIT's time before a pass. */
    record Mark(long allocatedBytes, long jitMillis) {
    }

    /** Taken before a pass; null when nothing is watched. */
    static Mark before() {
        long bytes = ThreadAllocations.current();
        return bytes < 0 ? null : new Mark(bytes, Warmup.compilationMillis());
    }

    /**
     * After a pass of {@code work} multiply-adds on {@code used} ({@code kernels.manyBlocks()},
     * {@code kernels.oneBlock()} or {@code kernels} itself): counts it, and renews the copy when its
     * passes have been boxed long enough.
     */
    static void after(Mark mark, Kernels kernels, Kernels used, long work) {
        if (mark == null) {
            return;
        }
        long bytes = ThreadAllocations.current() - mark.allocatedBytes();
        boolean boxed = boxed(bytes, work, Warmup.compilationMillis() != mark.jitMillis());
        long streakNanos = used.boxedPass(boxed, System.nanoTime());
        if (boxed && streakNanos >= STREAK_NANOS && used != kernels && kernels.renewCopy(used)) {
            LOG.warn("the Java path's vector kernels ran with boxed vectors for {} ms of attention passes "
                            + "(about {} MB allocated per pass while the JIT was idle); they are compiled afresh",
                    streakNanos / 1_000_000, bytes >> 20);
        }
    }

    /** Whether a pass that allocated {@code bytes} on the calling thread looks like boxed kernels. */
    static boolean boxed(long bytes, long work, boolean jitCompiled) {
        return !jitCompiled && bytes > MIN_BYTES && bytes > BYTES_PER_WORK * work;
    }
}
