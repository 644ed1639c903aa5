package io.github.clattn.reference;

import java.util.Locale;

/**
 * The conformance tolerance of {@code shared/conformance/README.md}, stated once:
 * {@code max |got - want| <= 2e-5 · max(1, max |want|)} on heads_out, out and key_mass,
 * {@code max |got - want| <= 1e-5} on the weights, and {@code |got - want| <= 2e-5 · max(1, |want|)}
 * elementwise on lse (−∞ exactly). NaN must match NaN; an infinity must match the
 * same infinity exactly. A failed comparison lists its first {@value #SHOWN} mismatches with their
 * index and both values.
 */
public final class Tolerance {
    /** Relative tolerance of heads_out and out, against {@code max(1, max |want|)}. */
    public static final double OUTPUT_RTOL = 2e-5;
    /** Absolute tolerance of the weights. */
    public static final double WEIGHTS_ATOL = 1e-5;
    private static final int SHOWN = 5;

    private Tolerance() {
    }

    /** {@code 2e-5 · max(1, max |want|)} over the finite values of {@code want}. */
    public static double outputTolerance(double[] want) {
        double maxWant = 1;
        for (double w : want) {
            if (Double.isFinite(w)) {
                maxWant = Math.max(maxWant, Math.abs(w));
            }
        }
        return OUTPUT_RTOL * maxWant;
    }

    /** heads_out or out. */
    public static Comparison outputs(String label, float[] got, double[] want) {
        return compare(label, got, want, outputTolerance(want));
    }

    /**
     * Each row's log-sum-exp: {@code |got - want| <= 2e-5 · max(1, |want|)} elementwise, and −∞
     * exactly where {@code want} is −∞.
     */
    public static Comparison lse(String label, float[] got, double[] want) {
        if (got == null || got.length != want.length) {
            return compare(label, got, want, OUTPUT_RTOL);
        }
        StringBuilder shown = new StringBuilder();
        int mismatches = 0;
        double worstFraction = 0;
        double worstError = 0;
        double worstTolerance = OUTPUT_RTOL;
        for (int i = 0; i < want.length; i++) {
            double tol = OUTPUT_RTOL * (Double.isFinite(want[i]) ? Math.max(1, Math.abs(want[i])) : 1);
            double err = error(got[i], want[i]);
            if (!(err <= tol)) {
                if (mismatches < SHOWN) {
                    shown.append(String.format(Locale.ROOT, "%n  [%d] got %.9g want %.9g (|diff| %.3g)", i, got[i],
                            want[i], err));
                }
                mismatches++;
            }
            if (!(err / tol <= worstFraction)) {
                worstFraction = err / tol;
                worstError = err;
                worstTolerance = tol;
            }
        }
        return new Comparison(label, worstError, worstTolerance, mismatches, want.length, shown.toString());
    }

    /** The attention weights. */
    public static Comparison weights(String label, float[] got, double[] want) {
        return compare(label, got, want, WEIGHTS_ATOL);
    }

    /** Every element of {@code got} against {@code want} within {@code tolerance}. */
    public static Comparison compare(String label, float[] got, double[] want, double tolerance) {
        if (got == null) {
            return Comparison.failed(label, tolerance, "got null, expected " + want.length + " values");
        }
        if (got.length != want.length) {
            return Comparison.failed(label, tolerance, "got " + got.length + " values, expected " + want.length);
        }
        StringBuilder shown = new StringBuilder();
        int mismatches = 0;
        double maxError = 0;
        for (int i = 0; i < want.length; i++) {
            double err = error(got[i], want[i]);
            maxError = Math.max(maxError, err);
            if (!(err <= tolerance)) {
                if (mismatches < SHOWN) {
                    shown.append(String.format(Locale.ROOT, "%n  [%d] got %.9g want %.9g (|diff| %.3g)", i, got[i],
                            want[i], err));
                }
                mismatches++;
            }
        }
        return new Comparison(label, maxError, tolerance, mismatches, want.length, shown.toString());
    }

    /** |got - want|; 0 where both are NaN or the same infinity; +∞ where only one is NaN or infinite. */
    static double error(float got, double want) {
        if (Double.isNaN(want) || Float.isNaN(got)) {
            return Double.isNaN(want) && Float.isNaN(got) ? 0 : Double.POSITIVE_INFINITY;
        }
        if (Double.isInfinite(want) || Float.isInfinite(got)) {
            return got == want ? 0 : Double.POSITIVE_INFINITY;
        }
        return Math.abs(got - want);
    }
}
