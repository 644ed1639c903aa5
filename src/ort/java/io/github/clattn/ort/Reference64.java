package io.github.clattn.ort;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionWeights;
import io.github.clattn.reference.Float64Attention;
import java.util.List;

/**
 * heads_out in float64 for a few sampled query rows, computed from the same float32 inputs and
 * weights by the project's one float64 reference ({@link Float64Attention}): the yardstick both
 * clattn and ONNX Runtime are checked against, with the comparison's own elementwise rule.
 */
final class Reference64 {
    final List<Float64Attention.Row> rows;
    /** heads_out of the sampled rows, [rows, H·dk]. */
    private final double[] values;
    private final int projected;
    private final int seq;

    private Reference64(List<Float64Attention.Row> rows, double[] values, int projected, int seq) {
        this.rows = rows;
        this.values = values;
        this.projected = projected;
        this.seq = seq;
    }

    /** The reference of {@code p} on {@code x} at up to {@code maxRows} rows ({@link Float64Attention#sample}). */
    static Reference64 compute(OrtGraphs.Problem p, float[] x, int maxRows) {
        AttentionWeights weights = AttentionWeights.builder(p.dModel(), p.heads(), p.headDim())
                .projections(p.wQ(), p.wK(), p.wV()).build();
        AttentionInput input = AttentionInput.builder(x, p.batch(), p.seq()).build();
        List<Float64Attention.Row> rows = Float64Attention.sample(p.batch(), p.seq(), maxRows);
        Float64Attention.Result result = Float64Attention.compute(weights, AttentionOptions.causal(p.causal()), input,
                rows);
        return new Reference64(rows, result.headsOut(), p.projected(), p.seq());
    }

    /** The largest |got − ref| over the sampled rows, and how many exceed tol·max(1, |ref|). */
    Diff compare(float[] got, double tol) {
        double max = 0;
        long bad = 0;
        for (int r = 0; r < rows.size(); r++) {
            Float64Attention.Row row = rows.get(r);
            int base = (row.batch() * seq + row.query()) * projected;
            for (int j = 0; j < projected; j++) {
                double ref = values[r * projected + j];
                double err = Math.abs(got[base + j] - ref);
                if (!(err <= tol * Math.max(1.0, Math.abs(ref)))) {
                    bad++;
                }
                if (!(err <= max)) {
                    max = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
                }
            }
        }
        return new Diff(max, bad, (long) rows.size() * projected);
    }

    /** Every element of {@code a} against {@code ref}: the largest |a − ref| and how many exceed tol·max(1, |ref|). */
    static Diff compareAll(float[] a, float[] ref, double tol) {
        double max = 0;
        long bad = 0;
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs((double) a[i] - ref[i]);
            if (!(err <= tol * Math.max(1.0, Math.abs(ref[i])))) {
                bad++;
            }
            if (!(err <= max)) {
                max = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
            }
        }
        return new Diff(max, bad, ref.length);
    }

    /** A comparison: the largest absolute difference, and the elements beyond tolerance out of those compared. */
    record Diff(double maxAbs, long beyondTolerance, long compared) {
        boolean ok() {
            return beyondTolerance == 0;
        }
    }
}
