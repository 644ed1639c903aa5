package io.github.clattn.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * This machine's memory bandwidth, measured the way STREAM does: a triad {@code a = b + s·c} over
 * three arrays of {@value #FLOATS} floats (3 × 128 MiB, far beyond any cache), on every core, the
 * best of several passes, counting 3 × 128 MiB moved per pass. It is the bound a decode step,
 * which streams the weights and the K/V cache once, can approach.
 */
final class MemoryBandwidth {
    static final int FLOATS = 32 << 20;
    private static final int PASSES = 6;

    private MemoryBandwidth() {
    }

    /** Best triad bandwidth in GB/s (10^9 bytes per second), on {@code threads} threads. */
    static double triadGbPerSecond(int threads) throws InterruptedException {
        float[] a = new float[FLOATS];
        float[] b = new float[FLOATS];
        float[] c = new float[FLOATS];
        for (int i = 0; i < FLOATS; i++) {
            b[i] = i & 1023;
            c[i] = 1;
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "clattn-stream");
            t.setDaemon(true);
            return t;
        });
        try {
            double best = 0;
            for (int pass = 0; pass < PASSES; pass++) {
                float s = pass + 1;
                long start = System.nanoTime();
                List<Future<?>> parts = new ArrayList<>();
                int per = (FLOATS + threads - 1) / threads;
                for (int t = 0; t < threads; t++) {
                    int from = Math.min(FLOATS, t * per);
                    int to = Math.min(FLOATS, from + per);
                    parts.add(pool.submit(() -> triad(a, b, c, s, from, to)));
                }
                for (Future<?> f : parts) {
                    f.get();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                best = Math.max(best, 3.0 * FLOATS * Float.BYTES / seconds / 1e9);
            }
            if (a[FLOATS - 1] != b[FLOATS - 1] + PASSES * c[FLOATS - 1]) {
                throw new IllegalStateException("STREAM triad computed a wrong value");
            }
            return best;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("STREAM triad failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private static void triad(float[] a, float[] b, float[] c, float s, int from, int to) {
        for (int i = from; i < to; i++) {
            a[i] = b[i] + s * c[i];
        }
    }
}
