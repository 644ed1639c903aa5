package io.github.clattn.reference;

import java.util.SplittableRandom;

/** The one source of random tensors for tests, benchmarks, the tuner and the self-check. */
public final class Tensors {
    private Tensors() {
    }

    /** {@code count} floats uniform in {@code [-halfWidth, halfWidth)}. */
    public static float[] uniform(SplittableRandom rng, int count, double halfWidth) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) ((rng.nextDouble() * 2 - 1) * halfWidth);
        }
        return a;
    }

    /** The float values widened to double. */
    public static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
