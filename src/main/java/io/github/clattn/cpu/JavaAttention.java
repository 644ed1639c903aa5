package io.github.clattn.cpu;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Backend;
import java.util.stream.IntStream;

/**
 * The pure-Java attention path: same contract and tolerance as the OpenCL path, on all cores.
 *
 * <pre>
 *   pass 1: Q = x·W_Q + b_q, K = ctx·W_K + b_k, V = ctx·W_V + b_v     Q [B,N,H*dk], K,V [B,M,H*dk]
 *   pass 2: per (b, h, query i): scores over the visible keys, row max, exp and sum, weighted V
 *   pass 3: out = heads_out·W_O + b_O
 * </pre>
 *
 * Keys hidden by a mask are skipped by range, never multiplied by zero. Stateless apart from the
 * weights, so any number of threads may call it at once.
 */
public final class JavaAttention implements Backend {
    private final AttentionWeights w;
    private final boolean causal;
    private final float scale;

    public JavaAttention(AttentionWeights weights, AttentionOptions options) {
        this.w = weights;
        this.causal = options.causal();
        this.scale = options.effectiveScale(weights.headDim());
    }

    @Override
    public AttentionOutput forward(AttentionInput in) {
        final int b = in.batch();
        final int n = in.queryLength();
        final int m = in.contextLength();
        final int d = w.dModel();
        final int h = w.heads();
        final int dk = w.headDim();
        final int hd = w.projectedDim();
        float[] kv = in.keyValueSource();
        // pass 1: projections
        float[] q = project(in.x(), w.wQ(), w.bQ(), b * n, d, hd);
        float[] k = project(kv, w.wK(), w.bK(), b * m, d, hd);
        float[] v = project(kv, w.wV(), w.bV(), b * m, d, hd);
        float[] headsOut = new float[b * n * hd];
        float[] weights = in.returnWeights() ? new float[b * h * n * m] : null;
        int[] validLen = in.keyValidLength();
        float[] bias = in.attnBias();
        // pass 2: one task per (batch, query row); each does every head of that row
        IntStream.range(0, b * n).parallel().forEach(row -> {
            int batch = row / n;
            int queryI = row % n;
            long end = m;
            if (causal) {
                end = Math.min(end, queryI + (long) (m - n) + 1);
            }
            if (validLen != null) {
                end = Math.min(end, validLen[batch]);
            }
            int visible = (int) Math.max(end, 0);
            float[] p = new float[Math.max(visible, 1)];
            for (int head = 0; head < h; head++) {
                int qOff = row * hd + head * dk;
                float rowMax = Float.NEGATIVE_INFINITY;
                for (int keyJ = 0; keyJ < visible; keyJ++) {
                    int kOff = (batch * m + keyJ) * hd + head * dk;
                    float acc = 0f;
                    for (int c = 0; c < dk; c++) {
                        acc = Math.fma(q[qOff + c], k[kOff + c], acc);
                    }
                    float s = acc * scale;
                    if (bias != null) {
                        s += bias[queryI * m + keyJ];
                    }
                    p[keyJ] = s;
                    rowMax = Math.max(rowMax, s);
                }
                if (rowMax == Float.NEGATIVE_INFINITY) {
                    continue; // no visible key: zero weights, zero output
                }
                float sum = 0f;
                for (int keyJ = 0; keyJ < visible; keyJ++) {
                    float e = (float) Math.exp(p[keyJ] - rowMax);
                    p[keyJ] = e;
                    sum += e;
                }
                for (int keyJ = 0; keyJ < visible; keyJ++) {
                    p[keyJ] /= sum;
                }
                int oOff = row * hd + head * dk;
                for (int keyJ = 0; keyJ < visible; keyJ++) {
                    float pj = p[keyJ];
                    int vOff = (batch * m + keyJ) * hd + head * dk;
                    for (int c = 0; c < dk; c++) {
                        headsOut[oOff + c] = Math.fma(pj, v[vOff + c], headsOut[oOff + c]);
                    }
                }
                if (weights != null) {
                    System.arraycopy(p, 0, weights, ((batch * h + head) * n + queryI) * m, visible);
                }
            }
        });
        // pass 3: output projection
        float[] out = w.hasOutputProjection() ? project(headsOut, w.wO(), w.bO(), b * n, hd, d) : null;
        return new AttentionOutput(b, n, m, h, dk, d, headsOut, out, weights, "java", null);
    }

    /** C [rows, cols] = A [rows, inner] · W [inner, cols] + bias; rows split across cores. */
    static float[] project(float[] a, float[] wt, float[] bias, int rows, int inner, int cols) {
        float[] c = new float[rows * cols];
        IntStream.range(0, rows).parallel().forEach(r -> {
            int cOff = r * cols;
            if (bias != null) {
                System.arraycopy(bias, 0, c, cOff, cols);
            }
            int aOff = r * inner;
            for (int kk = 0; kk < inner; kk++) {
                float av = a[aOff + kk];
                int wOff = kk * cols;
                for (int j = 0; j < cols; j++) {
                    c[cOff + j] = Math.fma(av, wt[wOff + j], c[cOff + j]);
                }
            }
        });
        return c;
    }

    @Override
    public void close() {
        // nothing held
    }
}
