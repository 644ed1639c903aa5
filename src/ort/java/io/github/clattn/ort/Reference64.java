package io.github.clattn.ort;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * heads_out in float64 for a few sampled query rows, computed from the same float32 inputs and
 * weights: the yardstick both clattn and ONNX Runtime are checked against. Only the key and value
 * projections of the sampled batch rows are computed in full.
 */
final class Reference64 {
    /** A sampled query row: batch row {@code b}, query position {@code i}. */
    record Row(int b, int i) {
    }

    final List<Row> rows;
    /** heads_out of each sampled row, [H·dk]. */
    final double[][] values;
    private final int projected;
    private final int seq;

    private Reference64(List<Row> rows, double[][] values, int projected, int seq) {
        this.rows = rows;
        this.values = values;
        this.projected = projected;
        this.seq = seq;
    }

    /**
     * Every row when B·N ≤ maxRows; else up to maxRows rows from the first and last batch rows,
     * evenly spaced from the first query to the last (under a causal mask they see the fewest
     * and the most keys).
     */
    static List<Row> sample(int batch, int seq, int maxRows) {
        List<Row> rows = new ArrayList<>();
        if ((long) batch * seq <= maxRows) {
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < seq; i++) {
                    rows.add(new Row(b, i));
                }
            }
            return rows;
        }
        int[] batchRows = batch > 1 ? new int[] {0, batch - 1} : new int[] {0};
        int per = Math.max(1, maxRows / batchRows.length);
        for (int b : batchRows) {
            TreeSet<Integer> picked = new TreeSet<>();
            for (int t = 0; t < per; t++) {
                picked.add(per == 1 ? 0 : (int) Math.round((double) t * (seq - 1) / (per - 1)));
            }
            for (int i : picked) {
                rows.add(new Row(b, i));
            }
        }
        return rows;
    }

    static Reference64 compute(OrtGraphs.Problem p, float[] x, int maxRows) {
        final int n = p.seq();
        final int d = p.dModel();
        final int h = p.heads();
        final int dk = p.headDim();
        final int hd = p.projected();
        final double scale = 1.0 / Math.sqrt(dk);
        List<Row> rows = sample(p.batch(), n, maxRows);
        double[][] values = new double[rows.size()][];
        int lastBatch = -1;
        double[] k = null;
        double[] v = null;
        for (int r = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            if (row.b() != lastBatch) {
                lastBatch = row.b();
                k = project(x, row.b(), n, d, p.wK(), hd);
                v = project(x, row.b(), n, d, p.wV(), hd);
            }
            double[] q = new double[hd];
            int xRow = (row.b() * n + row.i()) * d;
            for (int c = 0; c < d; c++) {
                double xv = x[xRow + c];
                for (int j = 0; j < hd; j++) {
                    q[j] += xv * p.wQ()[c * hd + j];
                }
            }
            int visible = p.causal() ? row.i() + 1 : n;
            double[] out = new double[hd];
            double[] s = new double[visible];
            for (int head = 0; head < h; head++) {
                int off = head * dk;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    double dot = 0;
                    for (int t = 0; t < dk; t++) {
                        dot += q[off + t] * k[j * hd + off + t];
                    }
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < visible; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int j = 0; j < visible; j++) {
                    double pj = s[j] / sum;
                    for (int t = 0; t < dk; t++) {
                        out[off + t] += pj * v[j * hd + off + t];
                    }
                }
            }
            values[r] = out;
        }
        return new Reference64(rows, values, hd, n);
    }

    /** x_b·W in float64, [N, H·dk], rows in parallel. */
    private static double[] project(float[] x, int b, int n, int d, float[] w, int hd) {
        double[] out = new double[n * hd];
        IntStream.range(0, n).parallel().forEach(i -> {
            int xRow = (b * n + i) * d;
            int o = i * hd;
            for (int c = 0; c < d; c++) {
                double xv = x[xRow + c];
                int wRow = c * hd;
                for (int j = 0; j < hd; j++) {
                    out[o + j] += xv * w[wRow + j];
                }
            }
        });
        return out;
    }

    /** The largest |got − ref| over the sampled rows, and how many exceed tol·max(1, |ref|). */
    Diff compare(float[] got, double tol) {
        double max = 0;
        long bad = 0;
        for (int r = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            int base = (row.b() * seq + row.i()) * projected;
            for (int j = 0; j < projected; j++) {
                double ref = values[r][j];
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
