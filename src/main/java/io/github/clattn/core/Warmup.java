package io.github.clattn.core;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * Warm-up until the timings settle: on a fresh JVM the JIT compiles the Java path's Vector API
 * kernels seconds into the first calls, so a fixed warm-up can end before the code being timed is
 * the code that will run. Calls go on until at least {@code minCalls} calls and {@code minMillis}
 * have passed, the last {@value #WINDOW} calls agree within {@value #SPREAD} of their median, and
 * the JIT finished no compilation during those calls; they stop at a cap of
 * {@code max(10 s, 3 × minMillis)} whatever happens.
 *
 * <p>The JIT condition matters on machines with few cores: there the compiler threads share the
 * cores with the calls for seconds after start, and the first compiled forms (C1, on-stack
 * replacement) are slower than the last. Calls can agree within the spread while that goes on
 * (on a 2-core machine, 19–20 ms of attention at N = 1024 for a second or two before settling at
 * 11–12 ms), so the spread alone could stop the warm-up too early.
 */
public final class Warmup {
    /** Calls whose timings must agree. */
    public static final int WINDOW = 5;
    /** How far (a fraction of their median) the window's timings may spread. */
    public static final double SPREAD = 0.05;
    private static final long CAP_MILLIS = 10_000;

    /**
     * What a warm-up took.
     *
     * @param calls   calls made
     * @param millis  their wall time
     * @param settled whether the timings settled before the cap
     */
    public record Result(int calls, double millis, boolean settled) {
    }

    private Warmup() {
    }

    /** Runs {@code call} until the timings settle (see the class comment); {@code minCalls} 0 skips the warm-up. */
    public static Result run(Runnable call, int minCalls, long minMillis, Runnable afterEach) {
        return run(call, minCalls, minMillis, Math.max(CAP_MILLIS, 3 * minMillis), afterEach, Warmup::compilationMillis);
    }

    /**
     * As above with a cap of its own: the warm-up stops after {@code capMillis} (and
     * {@code minCalls} calls) whatever the timings and the JIT do.
     *
     * @param call      one call
     * @param minCalls  the fewest calls; 0 skips the warm-up
     * @param minMillis the least time
     * @param capMillis the most time
     * @return what the warm-up took
     */
    public static Result run(Runnable call, int minCalls, long minMillis, long capMillis) {
        return run(call, minCalls, minMillis, capMillis, null, Warmup::compilationMillis);
    }

    /** As above, with the JIT's total compilation time read from {@code jitMillis} (a test seam). */
    static Result run(Runnable call, int minCalls, long minMillis, long capMillis, Runnable afterEach,
                      LongSupplier jitMillis) {
        if (minCalls <= 0) {
            return new Result(0, 0, false);
        }
        long start = System.nanoTime();
        double[] last = new double[WINDOW];
        long[] jit = new long[WINDOW]; // the JIT's total compilation time before each of the window's calls
        int calls = 0;
        while (true) {
            jit[calls % WINDOW] = jitMillis.getAsLong();
            long t = System.nanoTime();
            call.run();
            last[calls % WINDOW] = (System.nanoTime() - t) / 1e6;
            calls++;
            if (afterEach != null) {
                afterEach.run();
            }
            double elapsed = (System.nanoTime() - start) / 1e6;
            boolean minimums = calls >= Math.max(minCalls, WINDOW) && elapsed >= minMillis;
            // the oldest entry of the window is the compilation time before its first call
            boolean jitQuiet = jitMillis.getAsLong() == jit[calls % WINDOW];
            if (minimums && settled(last) && jitQuiet) {
                return new Result(calls, elapsed, true);
            }
            if (elapsed >= capMillis && calls >= minCalls) {
                return new Result(calls, elapsed, false);
            }
        }
    }

    /**
     * The JIT's total compilation time so far, in ms; it grows when a compilation finishes. 0 where
     * the JVM does not measure it (the condition then always holds).
     *
     * @return the milliseconds the JIT has spent compiling
     */
    public static long compilationMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }

    /**
     * The window's spread is within {@link #SPREAD} of its median.
     *
     * @param window the last calls' times
     * @return whether they agree
     */
    public static boolean settled(double[] window) {
        double[] s = window.clone();
        Arrays.sort(s);
        double median = s[s.length / 2];
        return median > 0 && (s[s.length - 1] - s[0]) <= SPREAD * median;
    }
}
