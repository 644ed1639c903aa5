package io.github.clattn;

/**
 * The float64 control every implementation is compared with: the contract of
 * {@code shared/conformance/README.md}, computed the plain way.
 *
 * <pre>
 *   x [B,N,D], ctx [B,M,D], W_* [D,H*dk], Q [B,N,H*dk], K,V [B,M,H*dk], P [B,H,N,M]
 *   pass 1: projections        pass 2: scaled scores + bias, masks → −∞
 *   pass 3: softmax (row max subtracted; no visible key → zeros)
 *   pass 4: weighted values    pass 5: output projection
 * </pre>
 */
public final class Reference {
    /** Reference outputs; {@code out} and {@code weights} may be null. */
    public record Result(double[] headsOut, double[] out, double[] weights) {
    }

    private Reference() {
    }

    public static Result compute(AttentionWeights w, AttentionOptions o, AttentionInput in) {
        int b = in.batch();
        int n = in.queryLength();
        int m = in.contextLength();
        int d = w.dModel();
        int h = w.heads();
        int dk = w.headDim();
        int hd = h * dk;
        double scale = o.effectiveScale(dk);
        float[] ctx = in.keyValueSource();
        // pass 1
        double[] q = project(widen(in.x()), w.wQ(), w.bQ(), b * n, d, hd);
        double[] k = project(widen(ctx), w.wK(), w.bK(), b * m, d, hd);
        double[] v = project(widen(ctx), w.wV(), w.bV(), b * m, d, hd);
        double[] headsOut = new double[b * n * hd];
        double[] weights = new double[b * h * n * m];
        double[] s = new double[m];
        for (int batch = 0; batch < b; batch++) {
            for (int head = 0; head < h; head++) {
                for (int queryI = 0; queryI < n; queryI++) {
                    // pass 2
                    double max = Double.NEGATIVE_INFINITY;
                    for (int keyJ = 0; keyJ < m; keyJ++) {
                        boolean hidden = (o.causal() && keyJ > queryI + (m - n))
                                || (in.keyValidLength() != null && keyJ >= in.keyValidLength()[batch]);
                        if (hidden) {
                            s[keyJ] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double acc = 0;
                        for (int c = 0; c < dk; c++) {
                            acc += q[(batch * n + queryI) * hd + head * dk + c] * k[(batch * m + keyJ) * hd + head * dk + c];
                        }
                        s[keyJ] = acc * scale + (in.attnBias() != null ? in.attnBias()[queryI * m + keyJ] : 0.0);
                        max = Math.max(max, s[keyJ]);
                    }
                    // pass 3
                    int pOff = ((batch * h + head) * n + queryI) * m;
                    if (max == Double.NEGATIVE_INFINITY) {
                        continue;
                    }
                    double sum = 0;
                    for (int keyJ = 0; keyJ < m; keyJ++) {
                        double e = s[keyJ] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[keyJ] - max);
                        weights[pOff + keyJ] = e;
                        sum += e;
                    }
                    // pass 4
                    for (int keyJ = 0; keyJ < m; keyJ++) {
                        double p = weights[pOff + keyJ] / sum;
                        weights[pOff + keyJ] = p;
                        if (s[keyJ] == Double.NEGATIVE_INFINITY) {
                            continue;
                        }
                        for (int c = 0; c < dk; c++) {
                            headsOut[(batch * n + queryI) * hd + head * dk + c] += p * v[(batch * m + keyJ) * hd + head * dk + c];
                        }
                    }
                }
            }
        }
        // pass 5: the float64 heads_out goes straight into the output projection
        double[] out = w.hasOutputProjection() ? project(headsOut, w.wO(), w.bO(), b * n, hd, d) : null;
        return new Result(headsOut, out, weights);
    }

    private static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    /** C [rows, cols] = A [rows, inner] · W [inner, cols] + bias, in float64. */
    private static double[] project(double[] a, float[] w, float[] bias, int rows, int inner, int cols) {
        double[] c = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                double acc = bias != null ? bias[j] : 0;
                for (int kk = 0; kk < inner; kk++) {
                    acc += a[r * inner + kk] * w[kk * cols + j];
                }
                c[r * cols + j] = acc;
            }
        }
        return c;
    }
}
