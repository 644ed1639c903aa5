package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Garbage where no query may look (keys and values beyond a valid length, or hidden by the
 * causal mask) never reaches the output; NaN where a query does look propagates as in the
 * float64 reference.
 */
class NanIsolationTest {
    static final int B = 2;
    static final int N = 7;
    static final int M = 11;
    static final int D = 9;

    static List<String> devices() {
        return TestDevices.specs();
    }

    private static Problem problem(Feature... more) {
        return Problem.builder(31, B, N, M, D, 3, 5).with(Feature.CROSS, Feature.OUTPUT_PROJECTION).with(more).build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void garbageBeyondValidLengthNeverReachesTheOutput(String spec) {
        Problem p = problem();
        int[] valid = {6, 3};
        float[] context = p.input().context().clone();
        float[] poison = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        for (int b = 0; b < B; b++) {
            for (int j = valid[b]; j < M; j++) {
                for (int c = 0; c < D; c++) {
                    context[(b * M + j) * D + c] = poison[(j + c) % 3];
                }
            }
        }
        AttentionInput in = AttentionInput.builder(p.input().x(), B, N).context(context, M).keyValidLength(valid).build();
        assertFiniteAndMatches(p, in, spec);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void garbageHiddenByTheCausalMaskNeverReachesTheOutput(String spec) {
        Problem p = problem(Feature.CAUSAL);
        // Query 0 sees keys 0 .. M-N; poison the last key, visible only to the last query.
        float[] context = p.input().context().clone();
        for (int b = 0; b < B; b++) {
            for (int c = 0; c < D; c++) {
                context[(b * M + M - 1) * D + c] = Float.NaN;
            }
        }
        AttentionInput in = AttentionInput.builder(p.input().x(), B, N).context(context, M).build();
        try (Attention a = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
            AttentionOutput got = a.forward(in);
            int hd = p.weights().projectedDim();
            for (int b = 0; b < B; b++) {
                for (int i = 0; i < N; i++) {
                    for (int c = 0; c < hd; c++) {
                        float v = got.headsOut()[(b * N + i) * hd + c];
                        if (i < N - 1) {
                            assertThat(Float.isFinite(v)).as("b=%d query %d cannot see the NaN key", b, i).isTrue();
                        } else {
                            assertThat(v).as("b=%d last query attends the NaN key", b).isNaN();
                        }
                    }
                }
            }
            p.withInput(in).check(got).assertPassed();
        }
    }

    private static void assertFiniteAndMatches(Problem p, AttentionInput in, String spec) {
        try (Attention a = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
            AttentionOutput got = a.forward(in);
            for (float v : got.out()) {
                assertThat(Float.isFinite(v)).isTrue();
            }
            p.withInput(in).check(got).assertPassed();
        }
    }
}
