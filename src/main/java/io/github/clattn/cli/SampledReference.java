package io.github.clattn.cli;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Attention in float64 for a sample of query rows: the check {@code bench} runs on every device
 * and size before timing it. The full reference costs as much as the layer itself in double
 * precision; a few rows cost only the key and value projections of the batch rows they belong to.
 *
 * <pre>
 *   x [B,N,D]   ctx [B,M,D] (= x for self-attention)   w_q, w_k, w_v [D,H*dk]   heads_out [B,N,H*dk]
 *   pass 1: for each sampled batch row b, K_b = ctx_b·W_K + b_k and V_b = ctx_b·W_V + b_v   [M, H*dk]
 *   pass 2: for each sampled query (b,i): q = x[b,i]·W_Q + b_q                             [H*dk]
 *   pass 3: per head h, s_j = scale·q_h·k_{j,h} + attn_bias[i,j] over the visible keys j
 *           (causal: j <= i + M - N; padding: j < key_valid_len[b]); p = softmax(s); none visible: p = 0
 *   pass 4: heads_out[b,i,h] = sum_j p_j·v_{j,h}
 * </pre>
 */
final class SampledReference {
    /** One query row: batch row {@code batch}, query position {@code query}. */
    record Row(int batch, int query) {
    }

    private final List<Row> rows;
    private final int projectedDim;
    private final double[][] headsOut;

    private SampledReference(List<Row> rows, int projectedDim, double[][] headsOut) {
        this.rows = rows;
        this.projectedDim = projectedDim;
        this.headsOut = headsOut;
    }

    /**
     * Every row when there are at most {@code maxRows}; else up to {@code maxRows} rows spread over
     * the first and last batch rows, each set evenly spaced from the first to the last query
     * (the first and last queries see the fewest and the most keys under a causal mask).
     */
    static List<Row> sample(int batch, int queries, int maxRows) {
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

    /** The float64 heads_out of {@code rows}. */
    static SampledReference compute(AttentionWeights w, AttentionOptions options, AttentionInput in, List<Row> rows) {
        final int n = in.queryLength();
        final int m = in.contextLength();
        final int d = w.dModel();
        final int h = w.heads();
        final int dk = w.headDim();
        final int hd = w.projectedDim();
        final double scale = Double.isNaN(options.scale()) ? 1.0 / Math.sqrt(dk) : options.scale();
        final float[] x = in.x();
        final float[] ctx = in.keyValueSource();
        final float[] bias = in.attnBias();
        final int[] valid = in.keyValidLength();
        double[][] result = new double[rows.size()][];
        int[] batches = rows.stream().mapToInt(Row::batch).distinct().toArray();
        for (int b : batches) {
            // pass 1: keys and values of batch row b
            double[][] keys = new double[m][];
            double[][] values = new double[m][];
            final int batchRow = b;
            IntStream.range(0, m).parallel().forEach(j -> {
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
                int visible = AttentionInput.visibleKeys(n, m, options.causal(), valid, b, i);
                double[] out = new double[hd];
                for (int head = 0; head < h; head++) {
                    int c0 = head * dk;
                    // pass 3: scores and softmax over the visible keys
                    double[] s = new double[visible];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < visible; j++) {
                        double dot = 0;
                        for (int t = 0; t < dk; t++) {
                            dot += q[c0 + t] * keys[j][c0 + t];
                        }
                        s[j] = dot * scale + (bias == null ? 0 : bias[i * m + j]);
                        max = Math.max(max, s[j]);
                    }
                    if (visible == 0 || max == Double.NEGATIVE_INFINITY) {
                        continue; // no visible key: zero output
                    }
                    double sum = 0;
                    for (int j = 0; j < visible; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    // pass 4: weighted values
                    for (int j = 0; j < visible; j++) {
                        double p = s[j] / sum;
                        for (int t = 0; t < dk; t++) {
                            out[c0 + t] += p * values[j][c0 + t];
                        }
                    }
                }
                result[r] = out;
            }
        }
        return new SampledReference(List.copyOf(rows), hd, result);
    }

    /** row · W + bias in float64, for the row of {@code width} values at {@code offset}. */
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

    List<Row> rows() {
        return rows;
    }

    /** The reference heads_out of sampled row {@code r}, {@code [H*dk]}. */
    double[] headsOut(int r) {
        return headsOut[r].clone();
    }

    /** max |got - want| over the sampled rows of {@code headsOut [B,N,H*dk]}; NaN when a value is not finite. */
    double maxAbsError(float[] got, int queries) {
        double max = 0;
        for (int r = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            int offset = (row.batch() * queries + row.query()) * projectedDim;
            for (int c = 0; c < projectedDim; c++) {
                float g = got[offset + c];
                if (!Float.isFinite(g)) {
                    return Double.NaN;
                }
                max = Math.max(max, Math.abs(g - headsOut[r][c]));
            }
        }
        return max;
    }

    /** The conformance tolerance {@code 2e-5·max(1, max|want|)} over the sampled rows. */
    double tolerance() {
        double maxWant = 1;
        for (double[] row : headsOut) {
            for (double v : row) {
                maxWant = Math.max(maxWant, Math.abs(v));
            }
        }
        return 2e-5 * maxWant;
    }
}
