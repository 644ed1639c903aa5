package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Verdict;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The Java path's tunable parameters: every combination of their allowed values computes within
 * the conformance tolerance on problems that span several key and query blocks, and bad values are
 * refused with the parameter's name.
 */
class JavaParamsTest {

    static Stream<JavaParams> everyCombination() {
        List<JavaParams> all = new ArrayList<>();
        for (int g : JavaParams.ALLOWED.get(JavaParams.GEMM_ROWS)) {
            for (int p : JavaParams.ALLOWED.get(JavaParams.PV_ROWS)) {
                for (int k : JavaParams.ALLOWED.get(JavaParams.KEY_BLOCK)) {
                    for (int q : JavaParams.ALLOWED.get(JavaParams.QUERY_BLOCK)) {
                        all.add(new JavaParams(g, p, k, q));
                    }
                }
            }
        }
        return all.stream();
    }

    private static final List<Problem> PROBLEMS = problems();

    private static List<Problem> problems() {
        List<Problem> list = new ArrayList<>(Problem.tunerValidation(24));
        // a window and ALiBi across block edges, and a sink, on a grouped layer with an odd head width
        list.add(Problem.builder(0x9A7A, 2, 270, 270, 40, 4, 33).kvHeads(2).label("params window")
                .with(EnumSet.of(Feature.CAUSAL, Feature.WINDOW, Feature.ALIBI, Feature.SINKS, Feature.KEY_PADDING,
                        Feature.LSE))
                .build());
        return list;
    }

    @ParameterizedTest
    @MethodSource("everyCombination")
    void everyCombinationComputesTheReference(JavaParams params) {
        Kernels kernels = JavaKernels.named("vector").withParams(params);
        assertThat(kernels.params()).isEqualTo(params);
        for (Problem problem : PROBLEMS) {
            Verdict v = problem.check(new JavaAttention(problem.weights(), problem.options(), kernels)
                    .forward(problem.input()));
            assertThat(v.passed()).as(params + " " + v.report()).isTrue();
        }
    }

    @Test
    void defaultsFollowTheVectorWidth() {
        assertThat(JavaParams.defaults(16)).isEqualTo(JavaParams.DEFAULT);
        assertThat(JavaParams.defaults(8).gemmRows()).isEqualTo(4);
        assertThat(JavaParams.ALLOWED.values()).allSatisfy(values -> assertThat(values).doesNotHaveDuplicates());
        JavaParams.ALLOWED.forEach((name, values) ->
                assertThat(values.get(0)).as(name).isEqualTo(JavaParams.DEFAULT.values().get(name)));
    }

    @Test
    void badValuesNameTheParameter() {
        assertThatThrownBy(() -> new JavaParams(6, 4, 256, 64)).hasMessageContaining("GEMM_ROWS")
                .hasMessageContaining("[8, 4]").hasMessageContaining("6");
        assertThatThrownBy(() -> JavaParams.DEFAULT.with(JavaParams.KEY_BLOCK, 100)).hasMessageContaining("KEY_BLOCK");
        assertThatThrownBy(() -> JavaParams.DEFAULT.with("TILE", 8)).hasMessageContaining("TILE")
                .hasMessageContaining("QUERY_BLOCK");
        assertThatThrownBy(() -> JavaParams.of(Map.of(JavaParams.GEMM_ROWS, 8))).hasMessageContaining("missing");
        assertThat(JavaParams.of(JavaParams.DEFAULT.with(JavaParams.PV_ROWS, 2).values()))
                .isEqualTo(new JavaParams(8, 2, 256, 64));
        assertThat(JavaParams.DEFAULT).hasToString("GEMM_ROWS=8 PV_ROWS=4 KEY_BLOCK=256 QUERY_BLOCK=64");
    }

    @Test
    void scalarKernelsIgnoreParameters() {
        Kernels scalar = JavaKernels.named("scalar");
        assertThat(scalar.withParams(new JavaParams(4, 2, 128, 32))).isSameAs(scalar);
        assertThat(scalar.params()).isEqualTo(JavaParams.DEFAULT);
    }
}
