package io.github.clattn.examples.minilm;

import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The dense parts of the encoder in plain Java: Linear, LayerNorm, GELU, pooling. Row-major float32. */
final class Ops {
    /** Rows that share each load of a weight vector (4 rows x 2 vectors = 8 accumulators). */
    private static final int ROWS = 4;
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private Ops() {
    }

    /**
     * {@code y[r] = x[r] @ w + b} for each row index {@code r} in {@code rows}; x is {@code [*, in]},
     * w {@code [in, out]}, y {@code [*, out]}. Other rows of y are left alone. Blocks of 4 rows run
     * in parallel (common fork-join pool); within a block, 4 rows x 2 vectors of outputs are
     * accumulated in registers over the whole of {@code in} (the Vector API, hence
     * {@code --add-modules jdk.incubator.vector}, which clattn's Java path needs anyway).
     */
    static void linear(float[] x, int in, float[] w, float[] b, int out, float[] y, int[] rows) {
        int blocks = (rows.length + ROWS - 1) / ROWS;
        IntStream.range(0, blocks).parallel().forEach(blk -> {
            int from = blk * ROWS;
            if (rows.length - from >= ROWS) {
                block4(x, in, w, b, out, y, rows[from], rows[from + 1], rows[from + 2], rows[from + 3]);
            } else {
                for (int i = from; i < rows.length; i++) {
                    row1(x, in, w, b, out, y, rows[i]);
                }
            }
        });
    }

    private static void block4(float[] x, int in, float[] w, float[] b, int out, float[] y, int r0, int r1, int r2, int r3) {
        int lanes = SPECIES.length();
        int x0 = r0 * in;
        int x1 = r1 * in;
        int x2 = r2 * in;
        int x3 = r3 * in;
        int j = 0;
        for (; j + 2 * lanes <= out; j += 2 * lanes) {
            FloatVector bias0 = FloatVector.fromArray(SPECIES, b, j);
            FloatVector bias1 = FloatVector.fromArray(SPECIES, b, j + lanes);
            FloatVector a00 = bias0;
            FloatVector a01 = bias1;
            FloatVector a10 = bias0;
            FloatVector a11 = bias1;
            FloatVector a20 = bias0;
            FloatVector a21 = bias1;
            FloatVector a30 = bias0;
            FloatVector a31 = bias1;
            for (int k = 0; k < in; k++) {
                int wk = k * out + j;
                FloatVector w0 = FloatVector.fromArray(SPECIES, w, wk);
                FloatVector w1 = FloatVector.fromArray(SPECIES, w, wk + lanes);
                FloatVector v = FloatVector.broadcast(SPECIES, x[x0 + k]);
                a00 = w0.fma(v, a00);
                a01 = w1.fma(v, a01);
                v = FloatVector.broadcast(SPECIES, x[x1 + k]);
                a10 = w0.fma(v, a10);
                a11 = w1.fma(v, a11);
                v = FloatVector.broadcast(SPECIES, x[x2 + k]);
                a20 = w0.fma(v, a20);
                a21 = w1.fma(v, a21);
                v = FloatVector.broadcast(SPECIES, x[x3 + k]);
                a30 = w0.fma(v, a30);
                a31 = w1.fma(v, a31);
            }
            a00.intoArray(y, r0 * out + j);
            a01.intoArray(y, r0 * out + j + lanes);
            a10.intoArray(y, r1 * out + j);
            a11.intoArray(y, r1 * out + j + lanes);
            a20.intoArray(y, r2 * out + j);
            a21.intoArray(y, r2 * out + j + lanes);
            a30.intoArray(y, r3 * out + j);
            a31.intoArray(y, r3 * out + j + lanes);
        }
        if (j < out) {
            int[] rs = {r0, r1, r2, r3};
            for (int r : rs) {
                columns(x, in, w, b, out, y, r, j);
            }
        }
    }

    private static void row1(float[] x, int in, float[] w, float[] b, int out, float[] y, int r) {
        int lanes = SPECIES.length();
        int xo = r * in;
        int j = 0;
        for (; j + lanes <= out; j += lanes) {
            FloatVector acc = FloatVector.fromArray(SPECIES, b, j);
            for (int k = 0; k < in; k++) {
                acc = FloatVector.fromArray(SPECIES, w, k * out + j).fma(FloatVector.broadcast(SPECIES, x[xo + k]), acc);
            }
            acc.intoArray(y, r * out + j);
        }
        columns(x, in, w, b, out, y, r, j);
    }

    /** Scalar columns {@code [from, out)} of row {@code r}. */
    private static void columns(float[] x, int in, float[] w, float[] b, int out, float[] y, int r, int from) {
        for (int j = from; j < out; j++) {
            float acc = b[j];
            for (int k = 0; k < in; k++) {
                acc = Math.fma(x[r * in + k], w[k * out + j], acc);
            }
            y[r * out + j] = acc;
        }
    }

    /** {@code x[r] = LayerNorm(x[r] + residual[r])} over the last dimension {@code d}, for each row in {@code rows}. */
    static void addLayerNorm(float[] x, float[] residual, int d, float[] gamma, float[] beta, float eps, int[] rows) {
        for (int r : rows) {
            int o = r * d;
            if (residual != null) {
                for (int j = 0; j < d; j++) {
                    x[o + j] += residual[o + j];
                }
            }
            double mean = 0;
            for (int j = 0; j < d; j++) {
                mean += x[o + j];
            }
            mean /= d;
            double var = 0;
            for (int j = 0; j < d; j++) {
                double c = x[o + j] - mean;
                var += c * c;
            }
            var /= d;
            double inv = 1.0 / Math.sqrt(var + eps);
            for (int j = 0; j < d; j++) {
                x[o + j] = (float) ((x[o + j] - mean) * inv * gamma[j] + beta[j]);
            }
        }
    }

    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);

    /**
     * GELU, {@code x/2 · (1 + erf(x/√2))}, in place on rows {@code rows} of a {@code [*, d]} array,
     * with {@link #erf} to 1.5e-7: about one float32 step, and a tenth of the time an erf to double
     * precision took here (a series of up to 60 terms was over a third of the encoder's time).
     */
    static void gelu(float[] x, int d, int[] rows) {
        IntStream.range(0, rows.length).parallel().forEach(i -> {
            int o = rows[i] * d;
            for (int j = 0; j < d; j++) {
                double v = x[o + j];
                x[o + j] = (float) (0.5 * v * (1.0 + erf(v * INV_SQRT2)));
            }
        });
    }

    /**
     * The error function to an absolute error of at most 1.5e-7 (java.lang.Math has none):
     * Abramowitz and Stegun, Handbook of Mathematical Functions, formula 7.1.26,
     * {@code erf x = 1 − (a1·t + a2·t² + a3·t³ + a4·t⁴ + a5·t⁵)·e^(−x²)} with {@code t = 1/(1 + p·x)},
     * for x ≥ 0, and odd.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        double t = 1.0 / (1.0 + 0.3275911 * ax);
        double poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
        return Math.copySign(1.0 - poly * Math.exp(-ax * ax), x);
    }

    /** Mean of rows {@code [0, length)} of one sentence's {@code [N, d]} block starting at row {@code first}, L2-normalised. */
    static float[] meanPoolNormalize(float[] x, int d, int first, int length) {
        double[] sum = new double[d];
        for (int t = 0; t < length; t++) {
            int o = (first + t) * d;
            for (int j = 0; j < d; j++) {
                sum[j] += x[o + j];
            }
        }
        double norm = 0;
        for (int j = 0; j < d; j++) {
            sum[j] /= length;
            norm += sum[j] * sum[j];
        }
        norm = Math.sqrt(norm);
        float[] out = new float[d];
        for (int j = 0; j < d; j++) {
            out[j] = (float) (sum[j] / norm);
        }
        return out;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
