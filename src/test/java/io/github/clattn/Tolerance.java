package io.github.clattn;

import static org.assertj.core.api.Assertions.fail;

import java.util.Locale;

/**
 * The conformance tolerance ({@code shared/conformance/README.md}):
 * {@code max |got - want| <= 2e-5 * max(1, max |want|)} for heads_out and out, and
 * {@code max |got - want| <= 1e-5} for the weights. A failure lists the first mismatches with
 * their index and both values (at most {@value #SHOWN}).
 */
public final class Tolerance {
    public static final double OUTPUT_RTOL = 2e-5;
    public static final double WEIGHTS_ATOL = 1e-5;
    private static final int SHOWN = 5;

    private Tolerance() {
    }

    public static void assertOutputClose(String label, float[] got, double[] want) {
        double maxWant = 1;
        for (double w : want) {
            if (!Double.isNaN(w)) {
                maxWant = Math.max(maxWant, Math.abs(w));
            }
        }
        assertClose(label, got, want, OUTPUT_RTOL * maxWant);
    }

    public static void assertWeightsClose(String label, float[] got, double[] want) {
        assertClose(label, got, want, WEIGHTS_ATOL);
    }

    /** Max absolute error, NaN when a NaN appears on one side only. */
    public static double maxAbsError(float[] got, double[] want) {
        double max = 0;
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(want[i]) != Float.isNaN(got[i])) {
                return Double.NaN;
            }
            if (!Double.isNaN(want[i])) {
                max = Math.max(max, Math.abs(got[i] - want[i]));
            }
        }
        return max;
    }

    public static void assertClose(String label, float[] got, double[] want, double tol) {
        if (got == null) {
            fail(label + ": got null, expected " + want.length + " values");
        }
        if (got.length != want.length) {
            fail(label + ": got " + got.length + " values, expected " + want.length);
        }
        StringBuilder bad = new StringBuilder();
        int count = 0;
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(got[i] - want[i]);
            boolean nanMismatch = Double.isNaN(want[i]) != Float.isNaN(got[i]);
            if (nanMismatch || (!Double.isNaN(want[i]) && !(err <= tol))) {
                if (count < SHOWN) {
                    bad.append(String.format(Locale.ROOT, "%n  [%d] got %.9g want %.9g (|diff| %.3g)", i, got[i], want[i], err));
                }
                count++;
                worst = Math.max(worst, nanMismatch ? Double.POSITIVE_INFINITY : err);
            }
        }
        if (count > 0) {
            fail(String.format(Locale.ROOT, "%s: %d of %d values outside tolerance %.3g (worst %.3g):%s", label, count,
                    want.length, tol, worst, bad));
        }
    }
}
