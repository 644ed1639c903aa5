package io.github.clattn.reference;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.ProjectedInput;
import io.github.clattn.Rope;
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
 *   x [B,N,D]   ctx [B,M,D] (= x unless cross-attention)   W_Q [D,H*dk]   W_K, W_V [D,Hkv*dk]   W_O [H*dk,D]
 *   pass 1: per batch row b of the rows asked for: K_b = ctx_b·W_K + b_k, V_b = ctx_b·W_V + b_v   [M, Hkv*dk]
 *           (or the caller's own K and V); RoPE on K_b at positions j
 *   pass 2: per row (b, i): q = x[b,i]·W_Q + b_q (or the caller's q); RoPE at p_i = i + (M - N)   [H*dk]
 *   pass 3: per head h, with g = h / (H/Hkv): s_j = scale·q_h·k_{j,g} + attn_bias[i,j] for the
 *           visible keys j (causal: j <= p_i; padding: j < key_valid_len[b]); p = softmax(s) with
 *           the row maximum subtracted; no visible key, or every visible s = -inf: p = 0
 *   pass 4: heads_out[b,i,h] = Σ_j p_j·v_{j,g}
 *   pass 5: out[b,i] = heads_out[b,i]·W_O + b_O (from the float64 heads_out)
 * </pre>
 */
public final class Float64Attention {
    /** One query row: batch row {@code batch}, query position {@code query}. */
    public record Row(int batch, int query) {
    }

    /** Where pass 3 gets its projected tensors. */
    private interface Source {
        /** K and V of batch row b, [M][Hkv*dk] each, before RoPE. */
        double[][][] keysAndValues(int b);

        /** q of row (b, i), [H*dk], before RoPE. */
        double[] query(int b, int i);
    }

    private Float64Attention() {
    }

    /** Every output of the call (the weights when the call asks for them), every row. */
    public static Result compute(AttentionWeights w, AttentionOptions o, AttentionInput in) {
        return compute(w, o, in, allRows(in.batch(), in.queryLength()));
    }

    /** The outputs of {@code rows} only. */
    public static Result compute(AttentionWeights w, AttentionOptions o, AttentionInput in, List<Row> rows) {
        final int n = in.queryLength();
        final int m = in.contextLength();
        final int d = w.dModel();
        final int kvd = w.kvDim();
        final float[] x = in.x();
        final float[] ctx = in.keyValueSource();
        Source source = new Source() {
            @Override
            public double[][][] keysAndValues(int b) {
                double[][] keys = new double[m][];
                double[][] values = new double[m][];
                IntStream range = IntStream.range(0, m);
                if ((long) m * d * kvd > 1 << 20) {
                    range = range.parallel();
                }
                range.forEach(j -> {
                    int offset = (b * m + j) * d;
                    keys[j] = project(ctx, offset, d, w.wK(), w.bK(), kvd);
                    values[j] = project(ctx, offset, d, w.wV(), w.bV(), kvd);
                });
                return new double[][][] {keys, values};
            }

            @Override
            public double[] query(int b, int i) {
                return project(x, (b * n + i) * d, d, w.wQ(), w.bQ(), w.projectedDim());
            }
        };
        Result r = attend(source, in.batch(), n, m, w.heads(), w.kvHeads(), w.headDim(), o, in.keyValidLength(),
                in.attnBias(), in.returnWeights(), rows);
        if (w.hasOutputProjection()) {
            int hd = w.projectedDim();
            double[] out = new double[rows.size() * d];
            for (int row = 0; row < rows.size(); row++) {
                System.arraycopy(project(r.headsOut, row * hd, hd, w.wO(), w.bO(), d), 0, out, row * d, d);
            }
            r = r.withOut(d, out);
        }
        return r;
    }

    /** Every output of a call on pre-projected tensors ({@link io.github.clattn.ScaledDotProduct}), every row. */
    public static Result compute(int heads, int kvHeads, int headDim, AttentionOptions o, ProjectedInput in) {
        final int n = in.queryLength();
        final int m = in.keyLength();
        final int kvd = kvHeads * headDim;
        final int hd = heads * headDim;
        Source source = new Source() {
            @Override
            public double[][][] keysAndValues(int b) {
                double[][] keys = new double[m][kvd];
                double[][] values = new double[m][kvd];
                for (int j = 0; j < m; j++) {
                    for (int c = 0; c < kvd; c++) {
                        keys[j][c] = in.k()[(b * m + j) * kvd + c];
                        values[j][c] = in.v()[(b * m + j) * kvd + c];
                    }
                }
                return new double[][][] {keys, values};
            }

            @Override
            public double[] query(int b, int i) {
                double[] q = new double[hd];
                for (int c = 0; c < hd; c++) {
                    q[c] = in.q()[(b * n + i) * hd + c];
                }
                return q;
            }
        };
        return attend(source, in.batch(), n, m, heads, kvHeads, headDim, o, in.keyValidLength(), in.attnBias(),
                in.returnWeights(), allRows(in.batch(), n));
    }

    private static List<Row> allRows(int batch, int queries) {
        List<Row> rows = new ArrayList<>(batch * queries);
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < queries; i++) {
                rows.add(new Row(b, i));
            }
        }
        return rows;
    }

    /** Passes 1 to 4 of the class comment for {@code rows}. */
    private static Result attend(Source source, int batch, int n, int m, int heads, int kvHeads, int dk,
                                 AttentionOptions o, int[] valid, float[] bias, boolean weightsWanted, List<Row> rows) {
        final int hd = heads * dk;
        final int group = heads / kvHeads;
        final double scale = Double.isNaN(o.scale()) ? 1.0 / Math.sqrt(dk) : o.scale();
        final Rope rope = o.rope();
        final double cap = o.softcap();
        final float[] slopes = o.alibiSlopes();
        final float[] sinks = o.sinks();
        double[] headsOut = new double[rows.size() * hd];
        double[] weights = weightsWanted ? new double[rows.size() * heads * m] : null;
        double[] lse = new double[rows.size() * heads];
        double[] keyMass = new double[batch * heads * m];
        int[] batches = rows.stream().mapToInt(Row::batch).distinct().toArray();
        for (int b : batches) {
            // pass 1: keys and values of batch row b, keys rotated at their positions j
            double[][][] kv = source.keysAndValues(b);
            double[][] keys = kv[0];
            double[][] values = kv[1];
            if (rope != null) {
                for (int j = 0; j < m; j++) {
                    for (int g = 0; g < kvHeads; g++) {
                        rotate(keys[j], g * dk, dk, rope, j);
                    }
                }
            }
            for (int r = 0; r < rows.size(); r++) {
                Row row = rows.get(r);
                if (row.batch() != b) {
                    continue;
                }
                int i = row.query();
                long position = i + (long) (m - n);
                // pass 2: the query, rotated at its position
                double[] q = source.query(b, i);
                if (rope != null) {
                    for (int h = 0; h < heads; h++) {
                        rotate(q, h * dk, dk, rope, position);
                    }
                }
                // visibility: key padding, causal, window
                long end = valid == null ? m : Math.min(m, valid[b]);
                if (o.causal()) {
                    end = Math.min(end, position + 1);
                }
                if (o.windowRight() >= 0) {
                    end = Math.min(end, position + o.windowRight() + 1);
                }
                long start = o.windowLeft() >= 0 ? Math.max(0, position - o.windowLeft()) : 0;
                int from = (int) Math.max(0, start);
                int to = (int) Math.max(from, end);
                double[] s = new double[m];
                for (int h = 0; h < heads; h++) {
                    int c0 = h * dk;
                    int g0 = (h / group) * dk;
                    // pass 3: scores (scale, softcap, bias, ALiBi) and softmax over the visible keys, with the sink
                    double max = sinks == null ? Double.NEGATIVE_INFINITY : sinks[h];
                    for (int j = from; j < to; j++) {
                        double dot = 0;
                        for (int t = 0; t < dk; t++) {
                            dot += q[c0 + t] * keys[j][g0 + t];
                        }
                        double score = dot * scale;
                        if (cap > 0) {
                            score = cap * Math.tanh(score / cap);
                        }
                        if (bias != null) {
                            score += bias[i * m + j];
                        }
                        if (slopes != null) {
                            score -= slopes[h] * (double) Math.abs(position - j);
                        }
                        s[j] = score;
                        max = Math.max(max, score);
                    }
                    if (max == Double.NEGATIVE_INFINITY) {
                        lse[r * heads + h] = Double.NEGATIVE_INFINITY;
                        continue; // no visible key (and no sink): zero weights and output
                    }
                    double sum = sinks == null ? 0 : Math.exp(sinks[h] - max);
                    for (int j = from; j < to; j++) {
                        s[j] = s[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    lse[r * heads + h] = max + Math.log(sum);
                    // pass 4: weighted values
                    int at = r * hd + c0;
                    for (int j = from; j < to; j++) {
                        double p = s[j] / sum;
                        if (weights != null) {
                            weights[(r * heads + h) * m + j] = p;
                        }
                        keyMass[(b * heads + h) * m + j] += p;
                        for (int t = 0; t < dk; t++) {
                            headsOut[at + t] += p * values[j][g0 + t];
                        }
                    }
                }
            }
        }
        return new Result(batch, n, m, heads, hd, 0, List.copyOf(rows), headsOut, null, weights, lse, keyMass);
    }

    /**
     * RoPE in float64 on one head ({@code dk} channels from {@code offset}) at {@code position}:
     * pair c (neox: c, c + r/2; gptj: 2c, 2c + 1) turns by {@code position · theta^(-2c/r)}.
     */
    static void rotate(double[] head, int offset, int dk, Rope rope, long position) {
        int r = rope.rotatedDims(dk);
        int half = r / 2;
        for (int c = 0; c < half; c++) {
            double angle = position * Math.pow(rope.theta(), -2.0 * c / r);
            int a = offset + (rope.style() == Rope.Style.NEOX ? c : 2 * c);
            int b = offset + (rope.style() == Rope.Style.NEOX ? c + half : 2 * c + 1);
            double u = head[a];
            double w = head[b];
            head[a] = u * Math.cos(angle) - w * Math.sin(angle);
            head[b] = u * Math.sin(angle) + w * Math.cos(angle);
        }
    }

    /** row · W + bias in float64, for the {@code width} values of {@code a} at {@code offset}. */
    private static double[] project(float[] a, int offset, int width, float[] weight, float[] bias, int cols) {
        double[] row = new double[width];
        for (int k = 0; k < width; k++) {
            row[k] = a[offset + k];
        }
        return project(row, 0, width, weight, bias, cols);
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
        private final double[] lse;
        private final double[] keyMass;

        Result(int batch, int queryLength, int contextLength, int heads, int projectedDim, int dModel, List<Row> rows,
               double[] headsOut, double[] out, double[] weights, double[] lse, double[] keyMass) {
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
            this.lse = lse;
            this.keyMass = keyMass;
        }

        public List<Row> rows() {
            return rows;
        }

        /** The same result with the output projection's rows. */
        Result withOut(int width, double[] outRows) {
            return new Result(batch, queryLength, contextLength, heads, projectedDim, width, rows, headsOut, outRows,
                    weights, lse, keyMass);
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

        /** {@code [rows, H]}: {@code [B, H, N]} reordered when {@link #complete()} (see {@link #lseFull()}). */
        public double[] lseRows() {
            return lse;
        }

        /** {@code lse [B, H, N]} (requires {@link #complete()}). */
        public double[] lseFull() {
            requireComplete("lse");
            double[] full = new double[lse.length];
            for (int r = 0; r < rows.size(); r++) {
                Row row = rows.get(r);
                for (int h = 0; h < heads; h++) {
                    full[(row.batch() * heads + h) * queryLength + row.query()] = lse[r * heads + h];
                }
            }
            return full;
        }

        /** {@code key_mass [B, H, M]} (requires {@link #complete()}: every row's probabilities summed). */
        public double[] keyMass() {
            requireComplete("keyMass");
            return keyMass;
        }

        private void requireComplete(String what) {
            if (!complete()) {
                throw new IllegalStateException(what + ": only a complete reference (every row) has it");
            }
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
            if (got.lse() != null) {
                checks.add(Tolerance.lse(label + " lse", gatherLse(got.lse()), lse));
            }
            if (got.keyMass() != null && complete()) {
                checks.add(Tolerance.outputs(label + " key_mass", got.keyMass(), keyMass));
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

        /** The values of {@code lse [B, H, N]} at this result's rows, as {@code [rows, H]}. */
        private float[] gatherLse(float[] full) {
            if (full.length != batch * heads * queryLength) {
                return full;
            }
            float[] picked = new float[rows.size() * heads];
            for (int r = 0; r < rows.size(); r++) {
                Row row = rows.get(r);
                for (int h = 0; h < heads; h++) {
                    picked[r * heads + h] = full[(row.batch() * heads + h) * queryLength + row.query()];
                }
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
