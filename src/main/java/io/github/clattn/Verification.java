package io.github.clattn;

import java.util.List;
import java.util.Locale;

/**
 * The result of {@link Devices#verify}: one {@link Case} per problem and kernel variant, each
 * compared with a float64 reference within the conformance tolerance.
 *
 * @param device the device checked
 * @param cases  every case, in the order run
 */
public record Verification(Device device, List<Case> cases) {
    /**
     * Copies {@code cases}.
     *
     * @param device the device checked
     * @param cases  every case, in the order run
     * @throws NullPointerException {@code cases} is null or holds null
     */
    public Verification {
        cases = List.copyOf(cases);
    }

    /**
     * One checked problem.
     *
     * @param name        what was computed: features, sizes and kernel variant
     * @param device      the device's spec
     * @param path        the implementation that ran ({@link AttentionOutput#path()})
     * @param maxAbsError the largest error of any output, in units of that output
     * @param tolerance   the tolerance of the output with the largest error relative to its tolerance
     * @param passed      every output within its tolerance
     * @param detail      the first mismatches when it failed, else empty
     */
    public record Case(String name, String device, String path, double maxAbsError, double tolerance, boolean passed,
                       String detail) {
        /** {@return the error as a fraction of the tolerance (above 1 fails; infinite when the case did not run)} */
        public double fractionOfTolerance() {
            return tolerance > 0 ? maxAbsError / tolerance : Double.POSITIVE_INFINITY;
        }
    }

    /** {@return whether every case passed} */
    public boolean passed() {
        return cases.stream().allMatch(Case::passed);
    }

    /** {@return the number of cases that failed} */
    public long failures() {
        return cases.stream().filter(c -> !c.passed()).count();
    }

    /** {@return one line: how many cases, whether all passed, the worst error as a fraction of the tolerance} */
    public String verdict() {
        double worst = cases.stream().mapToDouble(Case::fractionOfTolerance).max().orElse(0);
        if (passed()) {
            return String.format(Locale.ROOT, "PASS: %d cases on %s within tolerance (worst %.3f of the tolerance)",
                    cases.size(), device, worst);
        }
        return String.format(Locale.ROOT, "FAIL: %d of %d cases on %s outside the tolerance", failures(), cases.size(),
                device);
    }
}
