package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.ConformanceCase;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The bench's float64 checker against the float64-made conformance outputs, and its row sampling. */
class SampledReferenceTest {

    static List<String> cases() {
        return ConformanceCase.names();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheConformanceHeadsOut(String name) {
        ConformanceCase c = ConformanceCase.load(name);
        int b = c.input().batch();
        int n = c.input().queryLength();
        List<SampledReference.Row> rows = SampledReference.sample(b, n, 24);
        SampledReference ref = SampledReference.compute(c.weights(), c.options(), c.input(), rows);
        int hd = c.weights().projectedDim();
        double maxWant = 1;
        for (float v : c.headsOut()) {
            maxWant = Math.max(maxWant, Math.abs(v));
        }
        for (int r = 0; r < rows.size(); r++) {
            SampledReference.Row row = rows.get(r);
            double[] got = ref.headsOut(r);
            for (int col = 0; col < hd; col++) {
                double want = c.headsOut()[(row.batch() * n + row.query()) * hd + col];
                // The stored outputs are float64 results rounded to float32.
                assertThat(Math.abs(got[col] - want)).as(name + " row " + row + " col " + col)
                        .isLessThanOrEqualTo(1e-6 * maxWant);
            }
        }
        // Its error measure sees the stored heads_out as exact to float32 rounding, and a changed value.
        assertThat(ref.maxAbsError(c.headsOut(), n)).isLessThanOrEqualTo(1e-6 * maxWant);
        float[] wrong = c.headsOut().clone();
        SampledReference.Row first = rows.get(0);
        wrong[(first.batch() * n + first.query()) * hd] += 0.01f;
        assertThat(ref.maxAbsError(wrong, n)).isGreaterThan(0.009);
        wrong[(first.batch() * n + first.query()) * hd] = Float.NaN;
        assertThat(ref.maxAbsError(wrong, n)).isNaN();
    }

    @org.junit.jupiter.api.Test
    void samplesEveryRowWhenFewElseTheEndsOfTheFirstAndLastBatchRows() {
        assertThat(SampledReference.sample(2, 3, 16)).hasSize(6);
        List<SampledReference.Row> rows = SampledReference.sample(4, 100, 16);
        assertThat(rows).hasSize(16);
        assertThat(rows).extracting(SampledReference.Row::batch).containsOnly(0, 3);
        assertThat(rows).contains(new SampledReference.Row(0, 0), new SampledReference.Row(0, 99),
                new SampledReference.Row(3, 0), new SampledReference.Row(3, 99));
        assertThat(SampledReference.sample(1, 1000, 1)).containsExactly(new SampledReference.Row(0, 0));
    }
}
