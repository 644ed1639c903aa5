package io.github.clattn.reference;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Every output of one call compared with the float64 reference.
 *
 * @param label       the problem
 * @param path        the implementation that produced the outputs
 * @param comparisons one per output (heads_out, out, weights)
 */
public record Verdict(String label, String path, List<Comparison> comparisons) {
    public Verdict {
        comparisons = List.copyOf(comparisons);
    }

    public boolean passed() {
        return comparisons.stream().allMatch(Comparison::passed);
    }

    /** The comparison with the largest error relative to its tolerance. */
    public Comparison worst() {
        Comparison worst = comparisons.get(0);
        for (Comparison c : comparisons) {
            if (!(c.fraction() <= worst.fraction())) {
                worst = c;
            }
        }
        return worst;
    }

    /** The failed comparisons' reports, one after the other. */
    public String report() {
        return comparisons.stream().filter(c -> !c.passed()).map(Comparison::report)
                .collect(Collectors.joining(System.lineSeparator()));
    }

    /** Throws an {@link AssertionError} naming the path and every failed output, unless all passed. */
    public Verdict assertPassed() {
        if (!passed()) {
            throw new AssertionError("on " + path + ": " + report());
        }
        return this;
    }
}
