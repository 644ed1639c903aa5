package io.github.clattn.cpu;

import java.util.Arrays;

/**
 * The kernels in plain Java, for a JVM started without {@code jdk.incubator.vector} (or with
 * {@code -Dclattn.java.vector=false}). Same blocking as {@link VectorKernels}; the inner loops
 * run along contiguous memory so C2 can still auto-vectorize them.
 */
final class ScalarKernels implements Kernels {
    static final ScalarKernels INSTANCE = new ScalarKernels();

    /** Columns per packed weight panel: one accumulator row of this many floats per query row. */
    private static final int NR = 64;

    private ScalarKernels() {
    }

    @Override
    public String path() {
        return "java-scalar";
    }

    @Override
    public int lanes() {
        return 1;
    }

    @Override
    public int panelWidth() {
        return NR;
    }

    @Override
    public int keyStep() {
        return 1;
    }

    @Override
    public int keyStride(int m) {
        return m;
    }

    @Override
    public void project(float[] a, int r0, int r1, PackedMatrix w, int p0, int p1, ProjectionTarget out) {
        final int inner = w.inner;
        final float[] wd = w.data;
        float[] acc = new float[ROW_BLOCK * NR];
        for (int p = p0; p < p1; p++) {
            final int panel = w.panelOffset(p);
            final int col0 = p * NR;
            for (int r = r0; r < r1; r += ROW_BLOCK) {
                int rows = Math.min(ROW_BLOCK, r1 - r);
                for (int rr = 0; rr < rows; rr++) {
                    System.arraycopy(w.bias, col0, acc, rr * NR, NR);
                }
                for (int k = 0; k < inner; k++) {
                    int wk = panel + k * NR;
                    for (int rr = 0; rr < rows; rr++) {
                        float x = a[(r + rr) * inner + k];
                        int at = rr * NR;
                        for (int jj = 0; jj < NR; jj++) {
                            acc[at + jj] = Math.fma(x, wd[wk + jj], acc[at + jj]);
                        }
                    }
                }
                out.storeTile(r, rows, col0, acc, 0, NR, NR);
            }
        }
    }

    @Override
    public void scores(float[] qt, int qOff, int rows, float[] kt, int ktOff, int ldkt, int dk, int width,
                       float scale, float[] s, int lds) {
        for (int r = 0; r < rows; r++) {
            int sRow = r * lds;
            Arrays.fill(s, sRow, sRow + width, 0f);
            for (int c = 0; c < dk; c++) {
                float x = qt[qOff + c * ROW_BLOCK + r];
                int kc = ktOff + c * ldkt;
                for (int j = 0; j < width; j++) {
                    s[sRow + j] = Math.fma(x, kt[kc + j], s[sRow + j]);
                }
            }
            for (int j = 0; j < width; j++) {
                s[sRow + j] *= scale;
            }
        }
    }

    @Override
    public float biasMaskMax(float[] s, int sOff, int from, int visible, int width, float[] bias, int biasOff) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < from; j++) {
            s[sOff + j] = Float.NEGATIVE_INFINITY;
        }
        for (int j = from; j < visible; j++) {
            float x = bias == null ? s[sOff + j] : s[sOff + j] + bias[biasOff + j];
            s[sOff + j] = x;
            max = Math.max(max, x);
        }
        for (int j = visible; j < width; j++) {
            s[sOff + j] = Float.NEGATIVE_INFINITY;
        }
        return max;
    }

    @Override
    public boolean expAndSum(float[] s, int sOff, int width, float shift, float limit, float[] sums, int sumsOff) {
        final int limitBits = FastExp.limitBits(limit);
        int top = 0;
        float sum = sums[sumsOff];
        for (int j = 0; j < width; j++) {
            float x = s[sOff + j] - shift;
            top = Math.max(top, Float.floatToRawIntBits(x));
            float p = FastExp.exp(x);
            s[sOff + j] = p;
            sum += p;
        }
        if (top > limitBits) {
            return false;
        }
        sums[sumsOff] = sum;
        return true;
    }

    @Override
    public void scaleInto(float[] src, int sOff, float[] dst, int dOff, int length, float factor) {
        for (int c = 0; c < length; c++) {
            dst[dOff + c] = src[sOff + c] * factor;
        }
    }

    @Override
    public void weightedValues(float[] p, int pOff, int ldp, int rows, int keys, float[] v, int vOff, int ldv,
                               int width, float[] o, int oOff, int ldo) {
        for (int r = 0; r < rows; r++) {
            int oRow = oOff + r * ldo;
            for (int j = 0; j < keys; j++) {
                float x = p[pOff + r * ldp + j];
                int vj = vOff + j * ldv;
                for (int c = 0; c < width; c++) {
                    o[oRow + c] = Math.fma(x, v[vj + c], o[oRow + c]);
                }
            }
        }
    }

    @Override
    public void exp(float[] src, int sOff, float[] dst, int dOff, int length) {
        for (int i = 0; i < length; i++) {
            dst[dOff + i] = FastExp.exp(src[sOff + i]);
        }
    }
}
