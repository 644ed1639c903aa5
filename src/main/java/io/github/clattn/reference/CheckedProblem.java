package io.github.clattn.reference;

import io.github.clattn.AttentionOutput;
import java.util.List;

/**
 * A problem with its float64 reference computed once, for a caller that checks many outputs of the
 * same problem (a tuner checks every candidate on the same few problems).
 *
 * @param problem   the problem
 * @param reference its float64 reference ({@link Problem#reference()})
 */
public record CheckedProblem(Problem problem, Float64Attention.Result reference) {
    /**
     * Each problem with its reference.
     *
     * @param problems the problems
     * @return them in the same order, each with its reference computed
     */
    public static List<CheckedProblem> of(List<Problem> problems) {
        return problems.stream().map(p -> new CheckedProblem(p, p.reference())).toList();
    }

    /**
     * Compares {@code got} with the reference within the conformance tolerance, as
     * {@link Problem#check} does.
     *
     * @param got an output of this problem's call
     * @return the verdict
     */
    public Verdict check(AttentionOutput got) {
        return reference.compare(problem.toString(), got);
    }
}
