package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Float64Attention;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tolerance;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * More than 2³¹ score elements in one head (N = M = 46341, H = 1): every index in the kernels
 * must be 64-bit. Rows of a self-attention output depend only on their own query and on every
 * key, so a few sampled rows are checked against the float64 reference computed as
 * cross-attention of those rows over the whole sequence.
 */
@Tag("slow")
class HugeSizeTest {
    static final int N = 46341;
    static final int D = 4;
    static final int DK = 4;

    static java.util.List<String> devices() {
        return TestDevices.specs();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void moreThan2To31ScoresInOneHead(String spec) {
        assertThat((long) N * N).isGreaterThan(1L << 31);
        Problem p = Problem.builder(61, 1, N, N, D, 1, DK).with(Feature.PROJECTION_BIAS).build();
        try (Attention a = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
            AttentionOutput out = a.forward(p.input());
            assertThat(out.path()).doesNotContain("staged");
            int[] rows = {0, 1, 17, 12345, 32768, N - 2, N - 1};
            float[] sampled = new float[rows.length * D];
            float[] got = new float[rows.length * DK];
            for (int r = 0; r < rows.length; r++) {
                System.arraycopy(p.input().x(), rows[r] * D, sampled, r * D, D);
                System.arraycopy(out.headsOut(), rows[r] * DK, got, r * DK, DK);
            }
            AttentionInput subset = AttentionInput.builder(sampled, 1, rows.length).context(p.input().x(), N).build();
            Tolerance.outputs("rows " + Arrays.toString(rows) + " on " + spec, got,
                    Float64Attention.compute(p.weights(), p.options(), subset).headsOut()).assertPassed();
        }
    }
}
