package io.github.clattn.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels on {@code jdk.incubator.vector} (the platform's preferred width: 16 floats with
 * AVX-512). Only {@link JavaKernels} loads this class, after checking that the module is in the
 * boot layer; nothing else may name it.
 *
 * <pre>
 *   project          register block 4 rows × 2 vectors of C; per k: 2 panel loads, 4 broadcasts, 8 FMAs
 *   scores           the same block over (queries × keys), reading Kᵀ so 16 keys form one vector
 *   weightedValues   4 queries × 4 vectors of channels; per key: 4 V loads, 4 broadcasts of p, 16 FMAs
 *   exp              {@link FastExp}'s formula lane-wise
 * </pre>
 */
final class VectorKernels implements Kernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int NR = 2 * L;

    VectorKernels() {
        if (L < 4) {
            throw new IllegalStateException("preferred float vector has " + L + " lanes; the scalar path is faster");
        }
    }

    @Override
    public String path() {
        return "java-vector";
    }

    @Override
    public int lanes() {
        return L;
    }

    @Override
    public int panelWidth() {
        return NR;
    }

    @Override
    public void project(float[] a, int r0, int r1, PackedMatrix w, int p0, int p1, ProjectionTarget out) {
        final int inner = w.inner;
        final float[] wd = w.data;
        float[] tile = new float[NR];
        for (int p = p0; p < p1; p++) {
            final int panel = w.panelOffset(p);
            final int col0 = p * NR;
            FloatVector bias0 = w.bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, w.bias, col0);
            FloatVector bias1 = w.bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, w.bias, col0 + L);
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                FloatVector c00 = bias0;
                FloatVector c01 = bias1;
                FloatVector c10 = bias0;
                FloatVector c11 = bias1;
                FloatVector c20 = bias0;
                FloatVector c21 = bias1;
                FloatVector c30 = bias0;
                FloatVector c31 = bias1;
                final int a0 = r * inner;
                final int a1 = a0 + inner;
                final int a2 = a1 + inner;
                final int a3 = a2 + inner;
                for (int k = 0, wk = panel; k < inner; k++, wk += NR) {
                    FloatVector w0 = FloatVector.fromArray(F, wd, wk);
                    FloatVector w1 = FloatVector.fromArray(F, wd, wk + L);
                    FloatVector x = FloatVector.broadcast(F, a[a0 + k]);
                    c00 = x.fma(w0, c00);
                    c01 = x.fma(w1, c01);
                    x = FloatVector.broadcast(F, a[a1 + k]);
                    c10 = x.fma(w0, c10);
                    c11 = x.fma(w1, c11);
                    x = FloatVector.broadcast(F, a[a2 + k]);
                    c20 = x.fma(w0, c20);
                    c21 = x.fma(w1, c21);
                    x = FloatVector.broadcast(F, a[a3 + k]);
                    c30 = x.fma(w0, c30);
                    c31 = x.fma(w1, c31);
                }
                store(out, r, col0, c00, c01, tile);
                store(out, r + 1, col0, c10, c11, tile);
                store(out, r + 2, col0, c20, c21, tile);
                store(out, r + 3, col0, c30, c31, tile);
            }
            for (; r < r1; r++) {
                FloatVector c0 = bias0;
                FloatVector c1 = bias1;
                final int a0 = r * inner;
                for (int k = 0, wk = panel; k < inner; k++, wk += NR) {
                    FloatVector x = FloatVector.broadcast(F, a[a0 + k]);
                    c0 = x.fma(FloatVector.fromArray(F, wd, wk), c0);
                    c1 = x.fma(FloatVector.fromArray(F, wd, wk + L), c1);
                }
                store(out, r, col0, c0, c1, tile);
            }
        }
    }

    private static void store(ProjectionTarget out, int r, int col0, FloatVector c0, FloatVector c1, float[] tile) {
        if (out.contiguous(col0, NR)) {
            int at = r * out.cols + col0;
            c0.intoArray(out.data, at);
            c1.intoArray(out.data, at + L);
        } else {
            c0.intoArray(tile, 0);
            c1.intoArray(tile, L);
            out.storeRow(r, col0, tile, NR);
        }
    }

    @Override
    public void scores(float[] q, int qOff, int ldq, int rows, float[] kt, int ktOff, int ldkt, int dk, int width,
                       float scale, float[] s, int lds) {
        if (rows < 4) {
            for (int r = 0; r < rows; r++) {
                scoresRow(q, qOff + r * ldq, kt, ktOff, ldkt, dk, width, scale, s, r * lds);
            }
            return;
        }
        final int q0 = qOff;
        final int q1 = q0 + ldq;
        final int q2 = q1 + ldq;
        final int q3 = q2 + ldq;
        int j = 0;
        for (; j + NR <= width; j += NR) {
            FloatVector s00 = FloatVector.zero(F);
            FloatVector s01 = s00;
            FloatVector s10 = s00;
            FloatVector s11 = s00;
            FloatVector s20 = s00;
            FloatVector s21 = s00;
            FloatVector s30 = s00;
            FloatVector s31 = s00;
            for (int c = 0, kc = ktOff + j; c < dk; c++, kc += ldkt) {
                FloatVector k0 = FloatVector.fromArray(F, kt, kc);
                FloatVector k1 = FloatVector.fromArray(F, kt, kc + L);
                FloatVector x = FloatVector.broadcast(F, q[q0 + c]);
                s00 = x.fma(k0, s00);
                s01 = x.fma(k1, s01);
                x = FloatVector.broadcast(F, q[q1 + c]);
                s10 = x.fma(k0, s10);
                s11 = x.fma(k1, s11);
                x = FloatVector.broadcast(F, q[q2 + c]);
                s20 = x.fma(k0, s20);
                s21 = x.fma(k1, s21);
                x = FloatVector.broadcast(F, q[q3 + c]);
                s30 = x.fma(k0, s30);
                s31 = x.fma(k1, s31);
            }
            s00.mul(scale).intoArray(s, j);
            s01.mul(scale).intoArray(s, j + L);
            s10.mul(scale).intoArray(s, lds + j);
            s11.mul(scale).intoArray(s, lds + j + L);
            s20.mul(scale).intoArray(s, 2 * lds + j);
            s21.mul(scale).intoArray(s, 2 * lds + j + L);
            s30.mul(scale).intoArray(s, 3 * lds + j);
            s31.mul(scale).intoArray(s, 3 * lds + j + L);
        }
        if (j < width) { // one vector of keys left
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int c = 0, kc = ktOff + j; c < dk; c++, kc += ldkt) {
                FloatVector k0 = FloatVector.fromArray(F, kt, kc);
                s0 = FloatVector.broadcast(F, q[q0 + c]).fma(k0, s0);
                s1 = FloatVector.broadcast(F, q[q1 + c]).fma(k0, s1);
                s2 = FloatVector.broadcast(F, q[q2 + c]).fma(k0, s2);
                s3 = FloatVector.broadcast(F, q[q3 + c]).fma(k0, s3);
            }
            s0.mul(scale).intoArray(s, j);
            s1.mul(scale).intoArray(s, lds + j);
            s2.mul(scale).intoArray(s, 2 * lds + j);
            s3.mul(scale).intoArray(s, 3 * lds + j);
        }
    }

    private static void scoresRow(float[] q, int qOff, float[] kt, int ktOff, int ldkt, int dk, int width, float scale,
                                  float[] s, int sOff) {
        for (int j = 0; j < width; j += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0, kc = ktOff + j; c < dk; c++, kc += ldkt) {
                acc = FloatVector.broadcast(F, q[qOff + c]).fma(FloatVector.fromArray(F, kt, kc), acc);
            }
            acc.mul(scale).intoArray(s, sOff + j);
        }
    }

    @Override
    public float biasMaskMax(float[] s, int sOff, int visible, int width, float[] bias, int biasOff) {
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j + L <= visible; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, sOff + j);
            if (bias != null) {
                x = x.add(FloatVector.fromArray(F, bias, biasOff + j));
                x.intoArray(s, sOff + j);
            }
            max = max.max(x);
        }
        if (bias != null) {
            for (int t = j; t < visible; t++) {
                s[sOff + t] += bias[biasOff + t];
            }
        }
        for (int t = visible; t < width; t++) {
            s[sOff + t] = Float.NEGATIVE_INFINITY;
        }
        for (; j < width; j += L) {
            max = max.max(FloatVector.fromArray(F, s, sOff + j));
        }
        return max.reduceLanes(VectorOperators.MAX); // exact in any order
    }

    @Override
    public float expAndSum(float[] s, int sOff, int width, float max) {
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < width; j += L) {
            FloatVector p = exp(FloatVector.fromArray(F, s, sOff + j).sub(max));
            p.intoArray(s, sOff + j);
            sum = sum.add(p);
        }
        return laneSum(sum);
    }

    /** Σ lanes, left to right: {@code reduceLanes(ADD)} may add in another order once compiled. */
    private static float laneSum(FloatVector v) {
        float[] lanes = v.toArray();
        float sum = 0f;
        for (float x : lanes) {
            sum += x;
        }
        return sum;
    }

    @Override
    public void scale(float[] o, int off, int length, float alpha) {
        for (int c = 0; c < length; c += L) {
            FloatVector.fromArray(F, o, off + c).mul(alpha).intoArray(o, off + c);
        }
    }

    @Override
    public void weightedValues(float[] p, int pOff, int ldp, int rows, int keys, float[] v, int vOff, int ldv,
                               int width, float[] o, int oOff, int ldo) {
        if (rows < 4) {
            for (int r = 0; r < rows; r++) {
                weightedValuesRow(p, pOff + r * ldp, keys, v, vOff, ldv, width, o, oOff + r * ldo);
            }
            return;
        }
        int c = 0;
        for (; c + 4 * L <= width; c += 4 * L) {
            weightedValues4x4(p, pOff, ldp, keys, v, vOff + c, ldv, o, oOff + c, ldo);
        }
        for (; c < width; c += L) {
            weightedValues4x1(p, pOff, ldp, keys, v, vOff + c, ldv, o, oOff + c, ldo);
        }
    }

    private static void weightedValues4x4(float[] p, int pOff, int ldp, int keys, float[] v, int vOff, int ldv,
                                          float[] o, int oOff, int ldo) {
        final int o0 = oOff;
        final int o1 = o0 + ldo;
        final int o2 = o1 + ldo;
        final int o3 = o2 + ldo;
        FloatVector a00 = FloatVector.fromArray(F, o, o0);
        FloatVector a01 = FloatVector.fromArray(F, o, o0 + L);
        FloatVector a02 = FloatVector.fromArray(F, o, o0 + 2 * L);
        FloatVector a03 = FloatVector.fromArray(F, o, o0 + 3 * L);
        FloatVector a10 = FloatVector.fromArray(F, o, o1);
        FloatVector a11 = FloatVector.fromArray(F, o, o1 + L);
        FloatVector a12 = FloatVector.fromArray(F, o, o1 + 2 * L);
        FloatVector a13 = FloatVector.fromArray(F, o, o1 + 3 * L);
        FloatVector a20 = FloatVector.fromArray(F, o, o2);
        FloatVector a21 = FloatVector.fromArray(F, o, o2 + L);
        FloatVector a22 = FloatVector.fromArray(F, o, o2 + 2 * L);
        FloatVector a23 = FloatVector.fromArray(F, o, o2 + 3 * L);
        FloatVector a30 = FloatVector.fromArray(F, o, o3);
        FloatVector a31 = FloatVector.fromArray(F, o, o3 + L);
        FloatVector a32 = FloatVector.fromArray(F, o, o3 + 2 * L);
        FloatVector a33 = FloatVector.fromArray(F, o, o3 + 3 * L);
        final int p0 = pOff;
        final int p1 = p0 + ldp;
        final int p2 = p1 + ldp;
        final int p3 = p2 + ldp;
        for (int j = 0, vj = vOff; j < keys; j++, vj += ldv) {
            FloatVector v0 = FloatVector.fromArray(F, v, vj);
            FloatVector v1 = FloatVector.fromArray(F, v, vj + L);
            FloatVector v2 = FloatVector.fromArray(F, v, vj + 2 * L);
            FloatVector v3 = FloatVector.fromArray(F, v, vj + 3 * L);
            FloatVector x = FloatVector.broadcast(F, p[p0 + j]);
            a00 = x.fma(v0, a00);
            a01 = x.fma(v1, a01);
            a02 = x.fma(v2, a02);
            a03 = x.fma(v3, a03);
            x = FloatVector.broadcast(F, p[p1 + j]);
            a10 = x.fma(v0, a10);
            a11 = x.fma(v1, a11);
            a12 = x.fma(v2, a12);
            a13 = x.fma(v3, a13);
            x = FloatVector.broadcast(F, p[p2 + j]);
            a20 = x.fma(v0, a20);
            a21 = x.fma(v1, a21);
            a22 = x.fma(v2, a22);
            a23 = x.fma(v3, a23);
            x = FloatVector.broadcast(F, p[p3 + j]);
            a30 = x.fma(v0, a30);
            a31 = x.fma(v1, a31);
            a32 = x.fma(v2, a32);
            a33 = x.fma(v3, a33);
        }
        a00.intoArray(o, o0);
        a01.intoArray(o, o0 + L);
        a02.intoArray(o, o0 + 2 * L);
        a03.intoArray(o, o0 + 3 * L);
        a10.intoArray(o, o1);
        a11.intoArray(o, o1 + L);
        a12.intoArray(o, o1 + 2 * L);
        a13.intoArray(o, o1 + 3 * L);
        a20.intoArray(o, o2);
        a21.intoArray(o, o2 + L);
        a22.intoArray(o, o2 + 2 * L);
        a23.intoArray(o, o2 + 3 * L);
        a30.intoArray(o, o3);
        a31.intoArray(o, o3 + L);
        a32.intoArray(o, o3 + 2 * L);
        a33.intoArray(o, o3 + 3 * L);
    }

    private static void weightedValues4x1(float[] p, int pOff, int ldp, int keys, float[] v, int vOff, int ldv,
                                          float[] o, int oOff, int ldo) {
        FloatVector a0 = FloatVector.fromArray(F, o, oOff);
        FloatVector a1 = FloatVector.fromArray(F, o, oOff + ldo);
        FloatVector a2 = FloatVector.fromArray(F, o, oOff + 2 * ldo);
        FloatVector a3 = FloatVector.fromArray(F, o, oOff + 3 * ldo);
        for (int j = 0, vj = vOff; j < keys; j++, vj += ldv) {
            FloatVector v0 = FloatVector.fromArray(F, v, vj);
            a0 = FloatVector.broadcast(F, p[pOff + j]).fma(v0, a0);
            a1 = FloatVector.broadcast(F, p[pOff + ldp + j]).fma(v0, a1);
            a2 = FloatVector.broadcast(F, p[pOff + 2 * ldp + j]).fma(v0, a2);
            a3 = FloatVector.broadcast(F, p[pOff + 3 * ldp + j]).fma(v0, a3);
        }
        a0.intoArray(o, oOff);
        a1.intoArray(o, oOff + ldo);
        a2.intoArray(o, oOff + 2 * ldo);
        a3.intoArray(o, oOff + 3 * ldo);
    }

    private static void weightedValuesRow(float[] p, int pOff, int keys, float[] v, int vOff, int ldv, int width,
                                          float[] o, int oOff) {
        int c = 0;
        for (; c + 4 * L <= width; c += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, o, oOff + c);
            FloatVector a1 = FloatVector.fromArray(F, o, oOff + c + L);
            FloatVector a2 = FloatVector.fromArray(F, o, oOff + c + 2 * L);
            FloatVector a3 = FloatVector.fromArray(F, o, oOff + c + 3 * L);
            for (int j = 0, vj = vOff + c; j < keys; j++, vj += ldv) {
                FloatVector x = FloatVector.broadcast(F, p[pOff + j]);
                a0 = x.fma(FloatVector.fromArray(F, v, vj), a0);
                a1 = x.fma(FloatVector.fromArray(F, v, vj + L), a1);
                a2 = x.fma(FloatVector.fromArray(F, v, vj + 2 * L), a2);
                a3 = x.fma(FloatVector.fromArray(F, v, vj + 3 * L), a3);
            }
            a0.intoArray(o, oOff + c);
            a1.intoArray(o, oOff + c + L);
            a2.intoArray(o, oOff + c + 2 * L);
            a3.intoArray(o, oOff + c + 3 * L);
        }
        for (; c < width; c += L) {
            FloatVector a0 = FloatVector.fromArray(F, o, oOff + c);
            for (int j = 0, vj = vOff + c; j < keys; j++, vj += ldv) {
                a0 = FloatVector.broadcast(F, p[pOff + j]).fma(FloatVector.fromArray(F, v, vj), a0);
            }
            a0.intoArray(o, oOff + c);
        }
    }

    @Override
    public void exp(float[] src, int sOff, float[] dst, int dOff, int length) {
        int i = 0;
        for (; i + L <= length; i += L) {
            exp(FloatVector.fromArray(F, src, sOff + i)).intoArray(dst, dOff + i);
        }
        for (; i < length; i++) {
            dst[dOff + i] = FastExp.exp(src[sOff + i]);
        }
    }

    /** {@link FastExp#exp(float)} lane-wise; the same operations, so the same bits. */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(FastExp.LOWEST).min(FastExp.HIGHEST);
        FloatVector t = xc.fma(FastExp.LOG2E, FastExp.MAGIC);
        FloatVector n = t.sub(FastExp.MAGIC);
        FloatVector r = n.fma(c(-FastExp.LN2_HI), xc);
        r = n.fma(c(-FastExp.LN2_LO), r);
        FloatVector p = c(FastExp.C7).fma(r, c(FastExp.C6));
        p = p.fma(r, c(FastExp.C5));
        p = p.fma(r, c(FastExp.C4));
        p = p.fma(r, c(FastExp.C3));
        p = p.fma(r, c(FastExp.C2));
        p = p.fma(r, c(1f));
        p = p.fma(r, c(1f));
        FloatVector twoToN = t.reinterpretAsInts()
                .sub(FastExp.MAGIC_BITS - 127)
                .lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        VectorMask<Float> underflow = x.compare(VectorOperators.LT, FastExp.LOWEST);
        return p.mul(twoToN).blend(0f, underflow);
    }

    private static FloatVector c(float value) {
        return FloatVector.broadcast(F, value);
    }
}
