package io.github.clattn.reference;

import java.util.Locale;

/**
 * One output compared with its float64 reference.
 *
 * @param label         what was compared (problem, output)
 * @param maxAbsError   the largest |got - want| (+∞ for a NaN or infinity mismatch)
 * @param tolerance     the bound every element must meet
 * @param mismatches    elements outside the tolerance
 * @param count         elements compared
 * @param firstMismatch the first few mismatches, one per line, or why nothing could be compared
 */
public record Comparison(String label, double maxAbsError, double tolerance, int mismatches, int count,
                         String firstMismatch) {

    static Comparison failed(String label, double tolerance, String why) {
        return new Comparison(label, Double.POSITIVE_INFINITY, tolerance, 1, 0, " " + why);
    }

    public boolean passed() {
        return mismatches == 0;
    }

    /** The error as a fraction of the tolerance (above 1 fails). */
    public double fraction() {
        return maxAbsError / tolerance;
    }

    /** A readable report: the label, the count of mismatches, the worst error and the first mismatches. */
    public String report() {
        if (passed()) {
            return String.format(Locale.ROOT, "%s: max |err| %.3g within %.3g", label, maxAbsError, tolerance);
        }
        return String.format(Locale.ROOT, "%s: %d of %d values outside tolerance %.3g (worst %.3g):%s", label,
                mismatches, count, tolerance, maxAbsError, firstMismatch);
    }

    /** Throws an {@link AssertionError} with {@link #report()} unless it passed. */
    public Comparison assertPassed() {
        if (!passed()) {
            throw new AssertionError(report());
        }
        return this;
    }
}
