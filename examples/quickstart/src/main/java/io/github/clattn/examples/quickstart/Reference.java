package io.github.clattn.examples.quickstart;

import io.github.clattn.AttentionWeights;

/**
 * The example's own float64 computation of the layer it runs through clattn: causal self-attention
 * with grouped-query heads, NeoX RoPE over the whole head, projection biases and an output
 * projection. Written as plainly as possible, one loop per formula, so that it can be checked by eye.
 *
 * <pre>
 *   x         [B, L, D]        row-major, token t of sequence b at position t
 *   q         [B, L, H, dk]    x @ w_q + b_q, rotated at t
 *   k, v      [B, L, Hkv, dk]  x @ w_k + b_k (rotated at t), x @ w_v + b_v
 *   heads_out [B, L, H*dk]     query head h reads K/V head h / (H / Hkv); token t sees keys 0..t
 *   out       [B, L, D]        heads_out @ w_o + b_o
 * </pre>
 */
final class Reference {
    private Reference() {
    }

    /** {@code out [B, L, D]} of the layer on {@code x [B, L, D]}, in float64. */
    static double[] forward(AttentionWeights w, double ropeTheta, float[] x, int batch, int length) {
        int d = w.dModel();
        int heads = w.heads();
        int kvHeads = w.kvHeads();
        int dk = w.headDim();
        int rows = batch * length;

        // Pass 1: projections, x @ w + b, for every token.
        double[] q = project(x, rows, d, w.wQ(), w.bQ(), heads * dk);
        double[] k = project(x, rows, d, w.wK(), w.bK(), kvHeads * dk);
        double[] v = project(x, rows, d, w.wV(), w.bV(), kvHeads * dk);

        // Pass 2: RoPE on queries and keys, NeoX pairs (c, c + dk/2), angle t · theta^(-2c/dk).
        for (int row = 0; row < rows; row++) {
            int position = row % length;
            for (int h = 0; h < heads; h++) {
                rotate(q, (row * heads + h) * dk, dk, position, ropeTheta);
            }
            for (int g = 0; g < kvHeads; g++) {
                rotate(k, (row * kvHeads + g) * dk, dk, position, ropeTheta);
            }
        }

        // Pass 3: per query and head, causal softmax over the keys 0..t, then the weighted values.
        double scale = 1.0 / Math.sqrt(dk);
        int group = heads / kvHeads;
        double[] headsOut = new double[rows * heads * dk];
        double[] scores = new double[length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < length; t++) {
                int queryRow = b * length + t;
                for (int h = 0; h < heads; h++) {
                    int g = h / group;
                    int query = (queryRow * heads + h) * dk;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        int key = ((b * length + j) * kvHeads + g) * dk;
                        double s = 0;
                        for (int c = 0; c < dk; c++) {
                            s += q[query + c] * k[key + c];
                        }
                        scores[j] = s * scale;
                        max = Math.max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        sum += scores[j];
                    }
                    int target = (queryRow * heads + h) * dk;
                    for (int j = 0; j <= t; j++) {
                        int value = ((b * length + j) * kvHeads + g) * dk;
                        double p = scores[j] / sum;
                        for (int c = 0; c < dk; c++) {
                            headsOut[target + c] += p * v[value + c];
                        }
                    }
                }
            }
        }

        // Pass 4: the output projection.
        double[] out = new double[rows * d];
        for (int row = 0; row < rows; row++) {
            for (int col = 0; col < d; col++) {
                double s = w.bO() == null ? 0 : w.bO()[col];
                for (int i = 0; i < heads * dk; i++) {
                    s += headsOut[row * heads * dk + i] * w.wO()[i * d + col];
                }
                out[row * d + col] = s;
            }
        }
        return out;
    }

    /** {@code x [rows, d] @ w [d, width] + bias [width]} (bias may be null). */
    private static double[] project(float[] x, int rows, int d, float[] w, float[] bias, int width) {
        double[] y = new double[rows * width];
        for (int row = 0; row < rows; row++) {
            for (int col = 0; col < width; col++) {
                double s = bias == null ? 0 : bias[col];
                for (int i = 0; i < d; i++) {
                    s += (double) x[row * d + i] * w[i * width + col];
                }
                y[row * width + col] = s;
            }
        }
        return y;
    }

    /** Rotates one head {@code a[at .. at + dk)} to {@code position}, NeoX pairs. */
    private static void rotate(double[] a, int at, int dk, int position, double theta) {
        int half = dk / 2;
        for (int c = 0; c < half; c++) {
            double angle = position * Math.pow(theta, -2.0 * c / dk);
            double cos = Math.cos(angle);
            double sin = Math.sin(angle);
            double u = a[at + c];
            double w = a[at + c + half];
            a[at + c] = u * cos - w * sin;
            a[at + c + half] = u * sin + w * cos;
        }
    }
}
