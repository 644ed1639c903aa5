package io.github.clattn.core;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * How much of its threads' time the Java path spent on a CPU while something was timed: the CPU
 * time of the live Java threads (the calling thread and the Java path's workers; JIT and GC threads
 * are not Java threads and do not count) over the wall time times the threads the path uses.
 * Thread CPU clocks have nanosecond resolution on Linux, so short spans read true (the process's
 * CPU time, {@code OperatingSystemMXBean.getProcessCpuTime}, moves in 10 ms ticks there).
 *
 * <p>Why: on a shared virtual machine the host can take a core away for a while, and a timing
 * then looks like slow code. The Java path keeps its threads on the CPU while it computes (idle
 * ones spin), so a share well under 1 says its threads did not get the cores: on the 2-core test
 * VM, 20-call windows at N = 128 ran at 0.7 ms with the calling thread and the worker on a CPU
 * 95–100 % of the time and at 1.2–1.6 ms with them on one 46–73 % of it. A share near 1 with a
 * slow time does not clear the machine: a core's other hardware thread can be busy with another
 * guest's work. NaN where the JVM does not measure thread CPU time.
 */
public final class ThreadCpu {
    private static final ThreadMXBean BEAN = ManagementFactory.getThreadMXBean();
    private static final boolean MEASURED = measured();

    private ThreadCpu() {
    }

    private static boolean measured() {
        try {
            if (!BEAN.isThreadCpuTimeSupported()) {
                return false;
            }
            if (!BEAN.isThreadCpuTimeEnabled()) {
                BEAN.setThreadCpuTimeEnabled(true);
            }
            return BEAN.isThreadCpuTimeEnabled();
        } catch (UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    /** The CPU time of the live Java threads so far, in ns, or -1 where the JVM does not measure it. */
    public static long nanos() {
        if (!MEASURED) {
            return -1;
        }
        long sum = 0;
        for (long id : BEAN.getAllThreadIds()) {
            long t = BEAN.getThreadCpuTime(id);
            if (t > 0) { // -1: the thread has ended
                sum += t;
            }
        }
        return sum;
    }

    /** Starts a span: the Java threads' CPU time and the wall clock now. */
    public static Span start() {
        return new Span(nanos(), System.nanoTime());
    }

    /**
     * CPU time over wall time times threads.
     *
     * @param cpuNanos  CPU time in the span (negative: unknown)
     * @param wallNanos the span's wall time
     * @param threads   the threads that could have run
     * @return the share of those threads' time spent on a CPU, NaN when unknown
     */
    public static double busy(long cpuNanos, long wallNanos, int threads) {
        return cpuNanos < 0 || wallNanos <= 0 || threads <= 0 ? Double.NaN
                : (double) cpuNanos / ((double) wallNanos * threads);
    }

    /**
     * A span of time begun by {@link #start()}.
     *
     * @param cpuNanos  the Java threads' CPU time at the start (-1: unknown)
     * @param wallNanos {@link System#nanoTime()} at the start
     */
    public record Span(long cpuNanos, long wallNanos) {
        /**
         * The busy share of {@code threads} threads from the start until now.
         *
         * @param threads the threads the timed work runs on (the Java path's pool size)
         * @return CPU time over wall time times threads; NaN when unknown
         */
        public double busy(int threads) {
            long wall = System.nanoTime() - wallNanos;
            long cpu = nanos();
            return ThreadCpu.busy(cpuNanos < 0 || cpu < 0 ? -1 : cpu - cpuNanos, wall, threads);
        }
    }
}
