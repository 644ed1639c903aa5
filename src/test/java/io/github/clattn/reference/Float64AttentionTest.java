package io.github.clattn.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.github.clattn.AttentionOutput;
import io.github.clattn.ConformanceCase;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The float64 reference itself: against the float64-made conformance outputs (every row, and a
 * sample of rows, as {@code bench} uses it), its row sampling, and that its comparisons see a
 * changed value and a NaN.
 */
class Float64AttentionTest {

    static List<String> cases() {
        List<String> all = new java.util.ArrayList<>(ConformanceCase.names());
        all.addAll(ConformanceCase.v2Names());
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheConformanceOutputs(String name) {
        ConformanceCase c = ConformanceCase.load(name);
        Float64Attention.Result all = c.problem().reference();
        assertThat(all.complete()).isTrue();
        double maxWant = 1;
        for (float v : c.headsOut()) {
            maxWant = Math.max(maxWant, Math.abs(v));
        }
        // The stored outputs are float64 results rounded to float32.
        double[] got = all.headsOut();
        for (int i = 0; i < got.length; i++) {
            assertThat(Math.abs(got[i] - c.headsOut()[i])).as(name + " heads_out[" + i + "]")
                    .isLessThanOrEqualTo(1e-6 * maxWant);
        }
        if (c.weightsExpected() != null) {
            double[] w = all.weights();
            for (int i = 0; i < w.length; i++) {
                assertThat(Math.abs(w[i] - c.weightsExpected()[i])).as(name + " weights[" + i + "]").isLessThan(1e-7);
            }
        }
        if (c.out() != null) {
            double[] out = all.out();
            for (int i = 0; i < out.length; i++) {
                assertThat(Math.abs(out[i] - c.out()[i])).as(name + " out[" + i + "]").isLessThanOrEqualTo(2e-6 * maxWant);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sampledRowsAgreeAndTheComparisonSeesAChangedValueAndNaN(String name) {
        ConformanceCase c = ConformanceCase.load(name);
        Problem p = c.problem().withReturnWeights(false);
        int b = p.batch();
        int n = p.queryLength();
        List<Float64Attention.Row> rows = Float64Attention.sample(b, n, 24);
        Float64Attention.Result sampled = Float64Attention.compute(p.weights(), p.options(), p.input(), rows);
        int hd = p.weights().projectedDim();
        float[] stored = c.headsOut().clone();
        float[] out = c.out();
        Verdict exact = sampled.compare(name, output(p, stored, out));
        assertThat(exact.passed()).as(exact.report()).isTrue();
        assertThat(exact.comparisons().get(0).maxAbsError()).isLessThanOrEqualTo(1e-6 * Math.max(1, maxAbs(stored)));

        Float64Attention.Row first = rows.get(0);
        float[] wrong = stored.clone();
        double change = 0.01 * Math.max(1, maxAbs(stored));
        wrong[(first.batch() * n + first.query()) * hd] += (float) change;
        Comparison off = sampled.compare(name, output(p, wrong, out)).comparisons().get(0);
        assertThat(off.passed()).isFalse();
        assertThat(off.maxAbsError()).isGreaterThan(0.9 * change);
        assertThat(off.report()).contains("[0]").contains("outside tolerance");
        wrong[(first.batch() * n + first.query()) * hd] = Float.NaN;
        Comparison nan = sampled.compare(name, output(p, wrong, out)).comparisons().get(0);
        assertThat(nan.passed()).isFalse();
        assertThat(nan.maxAbsError()).isInfinite();
    }

    private static AttentionOutput output(Problem p, float[] headsOut, float[] out) {
        return new AttentionOutput(p.batch(), p.queryLength(), p.contextLength(), p.weights().heads(),
                p.weights().headDim(), p.weights().dModel(), headsOut, out, null, "stored", null);
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    @Test
    void samplesEveryRowWhenFewElseTheEndsOfTheFirstAndLastBatchRows() {
        assertThat(Float64Attention.sample(2, 3, 16)).hasSize(6);
        List<Float64Attention.Row> rows = Float64Attention.sample(4, 100, 16);
        assertThat(rows).hasSize(16);
        assertThat(rows).extracting(Float64Attention.Row::batch).containsOnly(0, 3);
        assertThat(rows).contains(new Float64Attention.Row(0, 0), new Float64Attention.Row(0, 99),
                new Float64Attention.Row(3, 0), new Float64Attention.Row(3, 99));
        assertThat(Float64Attention.sample(1, 1000, 1)).containsExactly(new Float64Attention.Row(0, 0));
    }

    @Test
    void toleranceTreatsNaNAndInfinitiesExactly() {
        assertThat(Tolerance.compare("t", new float[] {Float.NaN}, new double[] {Double.NaN}, 1e-5).passed()).isTrue();
        assertThat(Tolerance.compare("t", new float[] {Float.NEGATIVE_INFINITY}, new double[] {Double.NEGATIVE_INFINITY},
                1e-5).passed()).isTrue();
        assertThat(Tolerance.compare("t", new float[] {-1e30f}, new double[] {Double.NEGATIVE_INFINITY}, 1e-5).passed())
                .isFalse();
        assertThat(Tolerance.compare("t", new float[] {1f}, new double[] {Double.NaN}, 1e-5).passed()).isFalse();
        assertThat(Tolerance.compare("t", new float[2], new double[3], 1e-5).report()).contains("got 2 values, expected 3");
        assertThat(Tolerance.outputTolerance(new double[] {0.5, -3})).isCloseTo(6e-5, within(1e-18));
        assertThat(Tolerance.outputTolerance(new double[] {0.5})).isEqualTo(Tolerance.OUTPUT_RTOL);
    }
}
