package io.github.clattn.cli;

import java.util.Arrays;

/**
 * Warm-up until the timings settle: on a fresh JVM the JIT compiles the Java path's Vector API
 * kernels seconds into the first calls, so a fixed warm-up can end before the code being timed is
 * the code that will run. Calls go on until at least {@code minCalls} calls and {@code minMillis}
 * have passed and the last {@value #WINDOW} calls agree within {@value #SPREAD} of their median
 * (or, for calls too short to time one by one reliably, until the minimums are met), and stop at
 * a cap of {@code max(10 s, 3 × minMillis)} whatever the spread.
 */
final class Warmup {
    static final int WINDOW = 5;
    static final double SPREAD = 0.05;
    private static final long CAP_MILLIS = 10_000;

    /** What a warm-up took. */
    record Result(int calls, double millis, boolean settled) {
    }

    private Warmup() {
    }

    /** Runs {@code call} until the timings settle (see the class comment); {@code minCalls} 0 skips the warm-up. */
    static Result run(Runnable call, int minCalls, long minMillis, Runnable afterEach) {
        if (minCalls <= 0) {
            return new Result(0, 0, false);
        }
        long start = System.nanoTime();
        long cap = Math.max(CAP_MILLIS, 3 * minMillis);
        double[] last = new double[WINDOW];
        int calls = 0;
        while (true) {
            long t = System.nanoTime();
            call.run();
            last[calls % WINDOW] = (System.nanoTime() - t) / 1e6;
            calls++;
            if (afterEach != null) {
                afterEach.run();
            }
            double elapsed = (System.nanoTime() - start) / 1e6;
            boolean minimums = calls >= Math.max(minCalls, WINDOW) && elapsed >= minMillis;
            if (minimums && settled(last)) {
                return new Result(calls, elapsed, true);
            }
            if (elapsed >= cap && calls >= minCalls) {
                return new Result(calls, elapsed, false);
            }
        }
    }

    /** The window's spread is within {@link #SPREAD} of its median. */
    static boolean settled(double[] window) {
        double[] s = window.clone();
        Arrays.sort(s);
        double median = s[s.length / 2];
        return median > 0 && (s[s.length - 1] - s[0]) <= SPREAD * median;
    }
}
