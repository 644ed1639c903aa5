package io.github.clattn.reference;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * The float64 control every implementation is compared with: the contract of
 * {@code shared/conformance/README.md}, computed the plain way, for every query row or for a
 * sample of them (a few rows cost only the key and value projections of their batch rows).
 *
 * <pre>
 *   x [B,N,D]   ctx [B,M,D] (= x unless cross-attention)   W_Q, W_K, W_V [D,H*dk]   W_O [H*dk,D]
 *   pass 1: per batch row b of the rows asked for: K_b = ctx_b·W_K + b_k, V_b = ctx_b·W_V + b_v   [M, H*dk]
 *   pass 2: per row (b, i): q = x[b,i]·W_Q + b_q                                                [H*dk]
 *   pass 3: per head h: s_j = scale·q_h·k_{j,h} + attn_bias[i,j] for the visible keys j
 *           (causal: j <= i + M - N; padding: j < key_valid_len[b]); p = softmax(s) with the row
 *           maximum subtracted; no visible key, or every visible s = -inf: p = 0
 *   pass 4: heads_out[b,i,h] = Σ_j p_j·v_{j,h}
 *   pass 5: out[b,i] = heads_out[b,i]·W_O + b_O (from the float64 heads_out)
 * </pre>
 */
public final class Float64Attention {
    /** One query row: batch row {@code batch}, query position {@code query}. */
    public record Row(int batch, int query) {
    }

    private Float64Attention() {
    }

    /** Every output of the call (the weights when the call asks for them), every row. */
    public static Result compute(AttentionWeights w, AttentionOptions o, AttentionInput in) {
        List<Row> rows = new ArrayList<>(in.batch() * in.queryLength());
        for (int b = 0; b < in.batch(); b++) {
            for (int i = 0; i < in.queryLength(); i++) {
                rows.add(new Row(b, i));
            }
        }
        return compute(w, o, in, rows);
    }

    /** The outputs of {@code rows} only. */
    public static Result compute(AttentionWeights w, AttentionOptions o, AttentionInput in, List<Row> rows) {
        final int n = in.queryLength();
        final int m = in.contextLength();
        final int d = w.dModel();
        final int heads = w.heads();
        final int dk = w.headDim();
        final int hd = w.projectedDim();
        final double scale = Double.isNaN(o.scale()) ? 1.0 / Math.sqrt(dk) : o.scale();
        final float[] x = in.x();
        final float[] ctx = in.keyValueSource();
        final float[] bias = in.attnBias();
        final int[] valid = in.keyValidLength();
        final boolean weightsWanted = in.returnWeights();
        double[] headsOut = new double[rows.size() * hd];
        double[] weights = weightsWanted ? new double[rows.size() * heads * m] : null;
        int[] batches = rows.stream().mapToInt(Row::batch).distinct().toArray();
        for (int b : batches) {
            // pass 1: keys and values of batch row b
            double[][] keys = new double[m][];
            double[][] values = new double[m][];
            final int batchRow = b;
            IntStream range = IntStream.range(0, m);
            if ((long) m * d * hd > 1 << 20) {
                range = range.parallel();
            }
            range.forEach(j -> {
                int offset = (batchRow * m + j) * d;
                keys[j] = project(ctx, offset, d, w.wK(), w.bK(), hd);
                values[j] = project(ctx, offset, d, w.wV(), w.bV(), hd);
            });
            for (int r = 0; r < rows.size(); r++) {
                Row row = rows.get(r);
                if (row.batch() != b) {
                    continue;
                }
                int i = row.query();
                // pass 2: the query
                double[] q = project(x, (b * n + i) * d, d, w.wQ(), w.bQ(), hd);
                int visible = AttentionInput.visibleKeys(n, m, o.causal(), valid, b, i);
                double[] s = new double[visible];
                for (int h = 0; h < heads; h++) {
                    int c0 = h * dk;
                    // pass 3: scores and softmax over the visible keys
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < visible; j++) {
                        double dot = 0;
                        for (int t = 0; t < dk; t++) {
                            dot += q[c0 + t] * keys[j][c0 + t];
                        }
                        s[j] = dot * scale + (bias == null ? 0 : bias[i * m + j]);
                        max = Math.max(max, s[j]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) {
                        continue; // no visible key: zero weights and output
                    }
                    double sum = 0;
                    for (int j = 0; j < visible; j++) {
                        s[j] = s[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    // pass 4: weighted values
                    int at = r * hd + c0;
                    for (int j = 0; j < visible; j++) {
                        double p = s[j] / sum;
                        if (weights != null) {
                            weights[(r * heads + h) * m + j] = p;
                        }
                        for (int t = 0; t < dk; t++) {
                            headsOut[at + t] += p * values[j][c0 + t];
                        }
                    }
                }
            }
        }
        // pass 5
        double[] out = null;
        if (w.hasOutputProjection()) {
            out = new double[rows.size() * d];
            for (int r = 0; r < rows.size(); r++) {
                double[] o1 = project(headsOut, r * hd, hd, w.wO(), w.bO(), d);
                System.arraycopy(o1, 0, out, r * d, d);
            }
        }
        return new Result(in.batch(), n, m, heads, hd, d, List.copyOf(rows), headsOut, out, weights);
    }

    /** row · W + bias in float64, for the {@code width} values of {@code a} at {@code offset}. */
    private static double[] project(float[] a, int offset, int width, float[] weight, float[] bias, int cols) {
        double[] out = new double[cols];
        for (int k = 0; k < width; k++) {
            double v = a[offset + k];
            int wRow = k * cols;
            for (int c = 0; c < cols; c++) {
                out[c] += v * weight[wRow + c];
            }
        }
        if (bias != null) {
            for (int c = 0; c < cols; c++) {
                out[c] += bias[c];
            }
        }
        return out;
    }

    private static double[] project(double[] a, int offset, int width, float[] weight, float[] bias, int cols) {
        double[] out = new double[cols];
        for (int k = 0; k < width; k++) {
            double v = a[offset + k];
            int wRow = k * cols;
            for (int c = 0; c < cols; c++) {
                out[c] += v * weight[wRow + c];
            }
        }
        if (bias != null) {
            for (int c = 0; c < cols; c++) {
                out[c] += bias[c];
            }
        }
        return out;
    }

    /**
     * Every row when there are at most {@code maxRows}; else up to {@code maxRows} rows spread over
     * the first and last batch rows, each set evenly spaced from the first to the last query
     * (the first and last queries see the fewest and the most keys under a causal mask).
     */
    public static List<Row> sample(int batch, int queries, int maxRows) {
        List<Row> rows = new ArrayList<>();
        if ((long) batch * queries <= maxRows) {
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < queries; i++) {
                    rows.add(new Row(b, i));
                }
            }
            return rows;
        }
        int[] batchRows = batch > 1 ? new int[] {0, batch - 1} : new int[] {0};
        int perBatch = Math.max(1, maxRows / batchRows.length);
        for (int b : batchRows) {
            TreeSet<Integer> picked = new TreeSet<>();
            for (int t = 0; t < perBatch; t++) {
                picked.add(perBatch == 1 ? 0 : (int) Math.round((double) t * (queries - 1) / (perBatch - 1)));
            }
            for (int i : picked) {
                rows.add(new Row(b, i));
            }
        }
        return rows;
    }

    /** The float64 outputs of some rows, in the rows' order. */
    public static final class Result {
        private final int batch;
        private final int queryLength;
        private final int contextLength;
        private final int heads;
        private final int projectedDim;
        private final int dModel;
        private final List<Row> rows;
        private final double[] headsOut;
        private final double[] out;
        private final double[] weights;

        Result(int batch, int queryLength, int contextLength, int heads, int projectedDim, int dModel, List<Row> rows,
               double[] headsOut, double[] out, double[] weights) {
            this.batch = batch;
            this.queryLength = queryLength;
            this.contextLength = contextLength;
            this.heads = heads;
            this.projectedDim = projectedDim;
            this.dModel = dModel;
            this.rows = rows;
            this.headsOut = headsOut;
            this.out = out;
            this.weights = weights;
        }

        public List<Row> rows() {
            return rows;
        }

        /** True when the rows are every row of the call in order, so the arrays have the call's full shapes. */
        public boolean complete() {
            if (rows.size() != batch * queryLength) {
                return false;
            }
            for (int r = 0; r < rows.size(); r++) {
                if (rows.get(r).batch() * queryLength + rows.get(r).query() != r) {
                    return false;
                }
            }
            return true;
        }

        /** {@code [rows, H*dk]}: {@code [B, N, H*dk]} when {@link #complete()}. */
        public double[] headsOut() {
            return headsOut;
        }

        /** {@code [rows, D]}, or null without an output projection. */
        public double[] out() {
            return out;
        }

        /** {@code [B, H, N, M]} (requires {@link #complete()}), or null when the call did not ask for them. */
        public double[] weights() {
            if (weights == null) {
                return null;
            }
            if (!complete()) {
                throw new IllegalStateException("weights: only a complete reference has the [B, H, N, M] weights");
            }
            double[] full = new double[weights.length];
            int m = contextLength;
            for (int r = 0; r < rows.size(); r++) {
                Row row = rows.get(r);
                for (int h = 0; h < heads; h++) {
                    System.arraycopy(weights, (r * heads + h) * m, full,
                            ((row.batch() * heads + h) * queryLength + row.query()) * m, m);
                }
            }
            return full;
        }

        /**
         * Compares the outputs of {@code got} (full-shaped, as a forward call returns them) at this
         * result's rows: heads_out, out when the layer has W_O, the weights when they were asked for.
         */
        public Verdict compare(String label, AttentionOutput got) {
            List<Comparison> checks = new ArrayList<>();
            checks.add(Tolerance.outputs(label + " heads_out", gather(got.headsOut(), projectedDim), headsOut));
            if (out != null) {
                checks.add(Tolerance.outputs(label + " out", gather(got.out(), dModel), out));
            }
            if (weights != null) {
                checks.add(Tolerance.weights(label + " weights", gatherWeights(got.weights()), weights));
            }
            return new Verdict(label, got.path(), checks);
        }

        /** The values of {@code full [B, N, width]} at this result's rows; null stays null. */
        private float[] gather(float[] full, int width) {
            if (full == null) {
                return null;
            }
            float[] picked = new float[rows.size() * width];
            for (int r = 0; r < rows.size(); r++) {
                Row row = rows.get(r);
                int from = (row.batch() * queryLength + row.query()) * width;
                if (from + width > full.length) {
                    return full; // wrong length: the comparison reports it
                }
                System.arraycopy(full, from, picked, r * width, width);
            }
            return picked;
        }

        private float[] gatherWeights(float[] full) {
            if (full == null || full.length != batch * heads * queryLength * contextLength) {
                return full;
            }
            int m = contextLength;
            float[] picked = new float[rows.size() * heads * m];
            for (int r = 0; r < rows.size(); r++) {
                Row row = rows.get(r);
                for (int h = 0; h < heads; h++) {
                    System.arraycopy(full, ((row.batch() * heads + h) * queryLength + row.query()) * m, picked,
                            (r * heads + h) * m, m);
                }
            }
            return picked;
        }
    }
}
