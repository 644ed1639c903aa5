package io.github.clattn.core;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * Warm-up until the timings settle: on a fresh JVM the JIT compiles the Java path's Vector API
 * kernels seconds into the first calls, so a fixed warm-up can end before the code being timed is
 * the code that will run.
 *
 * <p>Calls run in rounds of at least {@value #ROUND_MILLIS} ms (one call where a call takes longer).
 * The warm-up goes on until at least {@code minCalls} calls and {@code minMillis} have passed, the
 * medians of the last {@value #WINDOW} rounds agree within {@value #SPREAD} of their median, and the
 * JIT finished no compilation during those rounds; it stops at a cap of
 * {@code max(10 s, 3 × minMillis)} whatever happens.
 *
 * <p>The JIT condition matters on machines with few cores: there the compiler threads share the
 * cores with the calls for seconds after start, and the first compiled forms (C1, on-stack
 * replacement) are slower than the last. Calls can agree within the spread while that goes on
 * (on a 2-core machine, 19–20 ms of attention at N = 1024 for a second or two before settling at
 * 11–12 ms), so the spread alone could stop the warm-up too early. The rounds matter for short
 * calls: at N = 128 (0.6 ms a call once compiled) calls took 1.2–1.5 ms for 0.3–0.5 s while C2
 * compiled, agreeing within the spread, and five such calls (7 ms) often passed with no
 * compilation finishing; five rounds (125 ms or more) do not.
 */
public final class Warmup {
    /** Rounds whose medians must agree. */
    public static final int WINDOW = 5;
    /** How far (a fraction of their median) the window's round medians may spread. */
    public static final double SPREAD = 0.05;
    /** The least duration of one round of calls. */
    public static final long ROUND_MILLIS = 25;
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

    /** One call of a warm-up; it may throw. */
    @FunctionalInterface
    public interface Call {
        /**
         * Makes the call.
         *
         * @throws Exception whatever the call throws; it ends the warm-up
         */
        void run() throws Exception;
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

    /**
     * As above, for a call that may throw: what it throws ends the warm-up and is thrown on.
     *
     * @param call      one call
     * @param minCalls  the fewest calls; 0 skips the warm-up
     * @param minMillis the least time
     * @param capMillis the most time
     * @return what the warm-up took
     * @throws Exception what the call threw
     */
    public static Result runThrowing(Call call, int minCalls, long minMillis, long capMillis) throws Exception {
        return rounds(call, minCalls, minMillis, capMillis, null, Warmup::compilationMillis);
    }

    /** As above, with the JIT's total compilation time read from {@code jitMillis} (a test seam). */
    static Result run(Runnable call, int minCalls, long minMillis, long capMillis, Runnable afterEach,
                      LongSupplier jitMillis) {
        try {
            return rounds(call::run, minCalls, minMillis, capMillis, afterEach, jitMillis);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new AssertionError("a Runnable threw a checked exception", e); // cannot happen
        }
    }

    private static Result rounds(Call call, int minCalls, long minMillis, long capMillis, Runnable afterEach,
                                 LongSupplier jitMillis) throws Exception {
        if (minCalls <= 0) {
            return new Result(0, 0, false);
        }
        long start = System.nanoTime();
        double[] medians = new double[WINDOW]; // the last rounds' median call times
        long[] jit = new long[WINDOW]; // the JIT's total compilation time before each of those rounds
        double[] round = new double[16];
        int calls = 0;
        int rounds = 0;
        while (true) {
            jit[rounds % WINDOW] = jitMillis.getAsLong();
            long roundStart = System.nanoTime();
            int n = 0;
            do {
                long t = System.nanoTime();
                call.run();
                if (n == round.length) {
                    round = Arrays.copyOf(round, 2 * n);
                }
                round[n++] = (System.nanoTime() - t) / 1e6;
                calls++;
                if (afterEach != null) {
                    afterEach.run();
                }
            } while (System.nanoTime() - roundStart < ROUND_MILLIS * 1_000_000L);
            Arrays.sort(round, 0, n);
            medians[rounds % WINDOW] = round[n / 2];
            rounds++;
            double elapsed = (System.nanoTime() - start) / 1e6;
            boolean minimums = rounds >= WINDOW && calls >= minCalls && elapsed >= minMillis;
            // the oldest entry of the window is the compilation time before its first round
            boolean jitQuiet = jitMillis.getAsLong() == jit[rounds % WINDOW];
            if (minimums && settled(medians) && jitQuiet) {
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
     * @param window the last rounds' median call times (or any timings)
     * @return whether they agree
     */
    public static boolean settled(double[] window) {
        double[] s = window.clone();
        Arrays.sort(s);
        double median = s[s.length / 2];
        return median > 0 && (s[s.length - 1] - s[0]) <= SPREAD * median;
    }
}
