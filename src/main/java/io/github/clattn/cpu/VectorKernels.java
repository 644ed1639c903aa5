package io.github.clattn.cpu;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernels on {@code jdk.incubator.vector} (the platform's preferred width: 16 floats with
 * AVX-512). Only {@link JavaKernels} loads this class, after checking that the module is in the
 * boot layer; nothing else may name it.
 *
 * <pre>
 *   project          register block 8 rows × 2 vectors of C; per k: 2 panel loads, 8 broadcasts, 16 FMAs;
 *                    the call's rows of A transposed in groups of 8 first
 *                    (4 rows × 2 vectors with GEMM_ROWS=4: {@link JavaParams})
 *   scores           the same block over (queries × keys), reading Kᵀ so 16 keys form one vector and Qᵀ
 *                    so the 8 queries' broadcasts share one address (constant offsets)
 *   weightedValues   4 queries × 4 vectors of channels; per key: 4 V loads, 4 broadcasts of p, 16 FMAs
 *                    (2 queries × 4 vectors with PV_ROWS=2; 8 queries × 2 vectors with PV_ROWS=8: one
 *                    pass over a key's values per 8 queries)
 *   exp              {@link FastExp}'s formula lane-wise
 * </pre>
 *
 * The score kernels start their accumulators from {@code FloatVector.zero(F)}. Starting them from
 * {@code broadcast(F, 0f)} instead was tried: it helped a kernel compiled with {@code -Xbatch}
 * (attention at N = 1024: 25 to 15.5 ms) but, in a JVM that first ran N = 128, made the later
 * large calls 1.5 times slower (compare-ort, N = 4096: 416 against 228 ms), so it was not kept.
 *
 * <p>Known problem (JDK 17, C2): in a JVM whose first calls had at most one key block (M ≤ 256),
 * the later compilation of {@code scores8x2} often loses the exact vector type of its
 * accumulators after the loop; {@code mul} and {@code intoArray} then run the Vector API's Java
 * fallbacks, boxing every vector (about 700 MB allocated per N = 2048 call, attention twice as
 * slow). Not prevented by starting the accumulators from a load, putting the scale in the
 * receiver, or dropping the scale; what prevents it is running the calls with more than one key
 * block on a separately compiled copy of this class ({@link #manyBlocks}). The calls with one key
 * block box too, now and then (see {@link #oneBlock}): they run on a second copy, and
 * {@link BoxedKernelWatch} has either copy defined and compiled again when its passes box.
 */
final class VectorKernels implements Kernels {
    private static final Logger LOG = LoggerFactory.getLogger(VectorKernels.class);
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int NR = 2 * L;

    private final JavaParams params;
    /** Register rows of the projection and score blocks (8 or 4). */
    private final int gemmRows;
    /** Register rows of the weighted-values block (4 or 2). */
    private final int pvRows;

    /** The kernels with the defaults for this JVM's vector width ({@link JavaParams#defaults}). */
    VectorKernels() {
        this(JavaParams.defaults(L));
    }

    VectorKernels(JavaParams params) {
        if (L < 4) {
            throw new IllegalStateException("preferred float vector has " + L + " lanes; the scalar path is faster");
        }
        this.params = params;
        this.gemmRows = params.gemmRows();
        this.pvRows = params.pvRows();
    }

    @Override
    public JavaParams params() {
        return params;
    }

    @Override
    public Kernels withParams(JavaParams p) {
        return p.equals(params) ? this : new VectorKernels(p);
    }

    @Override
    public String path() {
        return "java-vector";
    }

    /** Which copy: one per parameter set for the passes with several key blocks, one for those with one. */
    private record CopyKey(JavaParams params, boolean manyBlocks) {
    }

    /** The copies made by {@link #manyBlocks} and {@link #oneBlock} (this class's own, not a copy's). */
    private static final Map<CopyKey, Kernels> COPIES = new ConcurrentHashMap<>();

    /**
     * These kernels in a class of their own: this class's bytes defined again, once, as a hidden
     * class, so its methods are profiled and compiled apart from this class's. Attention passes
     * with more than one key block run on it. Why: in a JVM whose first calls had one key block
     * (M ≤ 256), C2 (JDK 17) often compiled the score kernel later with its vectors boxed, and the
     * large calls ran twice as slowly ({@code docs/performance-log.md}: 15 of 22 runs of
     * {@code bench --seq 256,2048}); with the large calls on a copy that only they use, 3 of 32.
     * The copy returns itself; when the copy cannot be defined, this class serves (DEBUG log).
     */
    @Override
    public Kernels manyBlocks() {
        return copy(true);
    }

    /**
     * A second copy, for the passes with one key block. They box too, on their own: in 1 of 12 to
     * 7 of 16 JVMs running N = 128 calls, C2 found the vector class and length of some stores not
     * constant when it parsed the kernel (PrintIntrinsics: "missing constant: vclass=DecodeN"),
     * and the late inlining it then relies on did not finish (with -XX:-IncrementalInline every
     * JVM was slow). Those passes allocated 15 times their output and ran 2.5 times slower. On a
     * copy of their own, {@link BoxedKernelWatch} can have them compiled again, as it does for the
     * other copy; in the two such JVMs watched for 27 s, every new class was compiled boxed again.
     */
    @Override
    public Kernels oneBlock() {
        return copy(false);
    }

    private Kernels copy(boolean manyBlocks) {
        if (VectorKernels.class.isHidden() || Copy.BYTES == null) {
            return this; // in a copy, this class literal names the copy
        }
        // no lambda capturing this here: in a copy its type would be the hidden class, which fails verification
        CopyKey key = new CopyKey(params, manyBlocks);
        Kernels copy = COPIES.get(key);
        if (copy == null) {
            Kernels made = Copy.make(params, manyBlocks, false);
            if (made == null) {
                return this;
            }
            Kernels prior = COPIES.putIfAbsent(key, made);
            copy = prior != null ? prior : made;
        }
        return copy;
    }

    /** Most copies {@link #renewCopy} makes in a process, over every parameter set and both kinds. */
    static final int MAX_RENEWALS = 4;
    private static final AtomicInteger RENEWALS = new AtomicInteger();

    /** Copies made by {@link #renewCopy} so far in this process. */
    static int renewals() {
        return RENEWALS.get();
    }

    /**
     * A fresh hidden copy in place of {@code current} (this class's own {@link #manyBlocks} or
     * {@link #oneBlock}), when {@code current} is still the one it returns and fewer than
     * {@link #MAX_RENEWALS} were made.
     */
    @Override
    public boolean renewCopy(Kernels current) {
        if (VectorKernels.class.isHidden() || Copy.BYTES == null || current == this) {
            return false;
        }
        CopyKey key = new CopyKey(params, true);
        if (COPIES.get(key) != current) {
            key = new CopyKey(params, false);
            if (COPIES.get(key) != current) {
                return false;
            }
        }
        if (RENEWALS.getAndUpdate(n -> Math.min(n + 1, MAX_RENEWALS)) >= MAX_RENEWALS) {
            return false; // the limit was reached (the update above left the count at it)
        }
        boolean replaced = false;
        try {
            Kernels fresh = Copy.make(params, key.manyBlocks(), true);
            replaced = fresh != null && COPIES.replace(key, current, fresh);
            return replaced;
        } finally {
            if (!replaced) {
                RENEWALS.decrementAndGet(); // another thread replaced it first, or the copy failed
            }
        }
    }

    /** Boxed passes in a row on these kernels, and when the first of them ended ({@link #boxedPass}). */
    private int boxedPasses;
    private long boxedSince;

    @Override
    public synchronized long boxedPass(boolean boxed, long nanoTime) {
        if (!boxed) {
            boxedPasses = 0;
            return 0;
        }
        if (boxedPasses++ == 0) {
            boxedSince = nanoTime;
        }
        return boxedPasses >= BoxedKernelWatch.MIN_STREAK ? nanoTime - boxedSince : 0;
    }

    /**
     * This class's bytes, defined again as hidden classes: one for the copies of each kind (every
     * parameter set's copy of that kind is an instance of it), and a new one for each renewed copy,
     * since compiled code belongs to a class: a copy compiled apart needs a class of its own.
     */
    private static final class Copy {
        /** The bytes of this class, or null when they cannot be read (then this class serves every call). */
        static final byte[] BYTES = read();
        /** Per kind (0: one key block, 1: several), the constructor new copies of that kind are made with. */
        private static final AtomicReferenceArray<MethodHandle> CONSTRUCTORS = new AtomicReferenceArray<>(2);

        private static byte[] read() {
            try (InputStream in = VectorKernels.class.getResourceAsStream("VectorKernels.class")) {
                if (in == null) {
                    throw new IOException("VectorKernels.class is not readable as a resource");
                }
                return in.readAllBytes();
            } catch (IOException | SecurityException e) {
                LOG.debug("no separate copy of the vector kernels ({}); one class serves every call", e.toString());
                return null;
            }
        }

        /**
         * Kernels with {@code params} in the hidden class of their kind, or in a newly defined one
         * that later copies of the kind then share ({@code newClass}); null when none can be defined.
         */
        static Kernels make(JavaParams params, boolean manyBlocks, boolean newClass) {
            int kind = manyBlocks ? 1 : 0;
            try {
                MethodHandle constructor = CONSTRUCTORS.get(kind);
                if (constructor == null || newClass) {
                    MethodHandles.Lookup copy = MethodHandles.lookup().defineHiddenClass(BYTES, true);
                    constructor = copy.findConstructor(copy.lookupClass(),
                            MethodType.methodType(void.class, JavaParams.class));
                    CONSTRUCTORS.set(kind, constructor);
                }
                return (Kernels) constructor.invoke(params);
            } catch (LinkageError | ReflectiveOperationException | SecurityException e) {
                LOG.debug("no separate copy of the vector kernels ({}); this class serves", e.toString());
                return null;
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException("copy of the vector kernels", e);
            }
        }
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
    public int keyStep() {
        return NR;
    }

    /**
     * {@code m} rounded up to whole blocks of {@code 2·L} keys, plus {@code L} so the row length is
     * an odd number of vectors: with a row length of a multiple of 4 KiB (M = 1024), the 64
     * channel rows a score block reads would all fall in the same L1 set.
     */
    @Override
    public int keyStride(int m) {
        int stride = PackedMatrix.roundUp(m, NR);
        return (stride / L) % 2 == 0 ? stride + L : stride;
    }

    @Override
    public void project(float[] a, int r0, int r1, PackedMatrix w, int p0, int p1, ProjectionTarget out) {
        projectPanels(transposedRows(a, r0, r1, w.inner), r0, r1, w, p0, p1, out);
    }

    @Override
    public void projectEach(float[] a, int r0, int r1, PackedMatrix[] ws, ProjectionTarget[] outs) {
        final float[] at8 = transposedRows(a, r0, r1, ws[0].inner);
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].inner != ws[0].inner) {
                throw new IllegalArgumentException("ws[" + i + "] has " + ws[i].inner + " rows, expected "
                        + ws[0].inner + " as ws[0]");
            }
            projectPanels(at8, r0, r1, ws[i], 0, ws[i].panels, outs[i]);
        }
    }

    /** {@link #project} on rows already transposed by {@link #transposedRows}. */
    private void projectPanels(float[] at8, int r0, int r1, PackedMatrix w, int p0, int p1, ProjectionTarget out) {
        final int inner = w.inner;
        float[] tile = null;
        for (int p = p0; p < p1; p++) {
            final int panel = w.panelOffset(p);
            final int col0 = p * NR;
            for (int r = r0; r < r1; ) {
                final int rows = r1 - r >= gemmRows ? gemmRows : r1 - r >= 4 ? 4 : 1;
                final int direct = out.directIndex(r, rows, col0, NR);
                if (direct < 0 && tile == null) {
                    tile = new float[8 * NR];
                }
                final float[] dst = direct >= 0 ? out.data : tile;
                final int at = direct >= 0 ? direct : 0;
                final int ld = direct >= 0 ? out.rowStride : NR;
                final int a0 = (r - r0) / 8 * 8 * inner + (r - r0) % 8; // row r in its group of 8
                if (rows == 8) {
                    project8x2(at8, a0, inner, w.data, panel, w.bias, col0, dst, at, ld);
                } else if (rows == 4) {
                    project4x2(at8, a0, inner, w.data, panel, w.bias, col0, dst, at, ld);
                } else {
                    project1x2(at8, a0, inner, w.data, panel, w.bias, col0, dst, at);
                }
                if (direct < 0) {
                    out.storeTile(r, rows, col0, tile, 0, NR, NR);
                }
                r += rows;
            }
        }
    }

    /** Per thread: the rows of the last {@link #project} or {@link #projectEach} call, transposed in groups of 8. */
    private static final ThreadLocal<float[]> TRANSPOSED_ROWS = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Rows {@code [r0, r1)} of {@code a [rows, inner]} in groups of 8, each group transposed (row
     * {@code r0 + 8g + i}'s element k at {@code [8g·inner + 8k + i]}), in a per-thread buffer: the
     * projection blocks then read a column's 8 rows at one address plus constant offsets, as the
     * score blocks read Qᵀ. Once per call, for every panel of it (of every matrix, in {@link #projectEach}).
     */
    private static float[] transposedRows(float[] a, int r0, int r1, int inner) {
        final int groups = PackedMatrix.ceilDiv(r1 - r0, 8);
        float[] t = TRANSPOSED_ROWS.get();
        if (t.length < groups * 8 * inner) {
            t = new float[groups * 8 * inner];
            TRANSPOSED_ROWS.set(t);
        }
        for (int g = 0; g < groups; g++) {
            final int r = r0 + 8 * g;
            PackedMatrix.transpose(a, r * inner, inner, Math.min(8, r1 - r), inner, t, g * 8 * inner, 8);
        }
        return t;
    }

    // The register blocks are methods of their own: C2 (JDK 17) keeps 16 accumulators in
    // registers in a small method, but boxes them inside a larger loop nest.

    /** C[8 rows, 2 vectors] = bias + Σ_k A[row][k] · panel[k], A's rows transposed in a group of 8. */
    private static void project8x2(float[] a, int a0, int inner, float[] wd, int panel, float[] bias, int col0,
                                   float[] c, int at, int ldc) {
        FloatVector c00 = FloatVector.fromArray(F, bias, col0);
        FloatVector c01 = FloatVector.fromArray(F, bias, col0 + L);
        FloatVector c10 = c00;
        FloatVector c11 = c01;
        FloatVector c20 = c00;
        FloatVector c21 = c01;
        FloatVector c30 = c00;
        FloatVector c31 = c01;
        FloatVector c40 = c00;
        FloatVector c41 = c01;
        FloatVector c50 = c00;
        FloatVector c51 = c01;
        FloatVector c60 = c00;
        FloatVector c61 = c01;
        FloatVector c70 = c00;
        FloatVector c71 = c01;
        for (int k = 0, wk = panel, ak = a0; k < inner; k++, wk += NR, ak += 8) {
            FloatVector w0 = FloatVector.fromArray(F, wd, wk);
            FloatVector w1 = FloatVector.fromArray(F, wd, wk + L);
            FloatVector x = FloatVector.broadcast(F, a[ak]);
            c00 = x.fma(w0, c00);
            c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(F, a[ak + 1]);
            c10 = x.fma(w0, c10);
            c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(F, a[ak + 2]);
            c20 = x.fma(w0, c20);
            c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(F, a[ak + 3]);
            c30 = x.fma(w0, c30);
            c31 = x.fma(w1, c31);
            x = FloatVector.broadcast(F, a[ak + 4]);
            c40 = x.fma(w0, c40);
            c41 = x.fma(w1, c41);
            x = FloatVector.broadcast(F, a[ak + 5]);
            c50 = x.fma(w0, c50);
            c51 = x.fma(w1, c51);
            x = FloatVector.broadcast(F, a[ak + 6]);
            c60 = x.fma(w0, c60);
            c61 = x.fma(w1, c61);
            x = FloatVector.broadcast(F, a[ak + 7]);
            c70 = x.fma(w0, c70);
            c71 = x.fma(w1, c71);
        }
        c00.intoArray(c, at);
        c01.intoArray(c, at + L);
        c10.intoArray(c, at + ldc);
        c11.intoArray(c, at + ldc + L);
        c20.intoArray(c, at + 2 * ldc);
        c21.intoArray(c, at + 2 * ldc + L);
        c30.intoArray(c, at + 3 * ldc);
        c31.intoArray(c, at + 3 * ldc + L);
        c40.intoArray(c, at + 4 * ldc);
        c41.intoArray(c, at + 4 * ldc + L);
        c50.intoArray(c, at + 5 * ldc);
        c51.intoArray(c, at + 5 * ldc + L);
        c60.intoArray(c, at + 6 * ldc);
        c61.intoArray(c, at + 6 * ldc + L);
        c70.intoArray(c, at + 7 * ldc);
        c71.intoArray(c, at + 7 * ldc + L);
    }

    private static void project4x2(float[] a, int a0, int inner, float[] wd, int panel, float[] bias, int col0,
                                   float[] c, int at, int ldc) {
        FloatVector c00 = FloatVector.fromArray(F, bias, col0);
        FloatVector c01 = FloatVector.fromArray(F, bias, col0 + L);
        FloatVector c10 = c00;
        FloatVector c11 = c01;
        FloatVector c20 = c00;
        FloatVector c21 = c01;
        FloatVector c30 = c00;
        FloatVector c31 = c01;
        for (int k = 0, wk = panel, ak = a0; k < inner; k++, wk += NR, ak += 8) {
            FloatVector w0 = FloatVector.fromArray(F, wd, wk);
            FloatVector w1 = FloatVector.fromArray(F, wd, wk + L);
            FloatVector x = FloatVector.broadcast(F, a[ak]);
            c00 = x.fma(w0, c00);
            c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(F, a[ak + 1]);
            c10 = x.fma(w0, c10);
            c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(F, a[ak + 2]);
            c20 = x.fma(w0, c20);
            c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(F, a[ak + 3]);
            c30 = x.fma(w0, c30);
            c31 = x.fma(w1, c31);
        }
        c00.intoArray(c, at);
        c01.intoArray(c, at + L);
        c10.intoArray(c, at + ldc);
        c11.intoArray(c, at + ldc + L);
        c20.intoArray(c, at + 2 * ldc);
        c21.intoArray(c, at + 2 * ldc + L);
        c30.intoArray(c, at + 3 * ldc);
        c31.intoArray(c, at + 3 * ldc + L);
    }

    private static void project1x2(float[] a, int a0, int inner, float[] wd, int panel, float[] bias, int col0,
                                   float[] c, int at) {
        FloatVector c0 = FloatVector.fromArray(F, bias, col0);
        FloatVector c1 = FloatVector.fromArray(F, bias, col0 + L);
        for (int k = 0, wk = panel, ak = a0; k < inner; k++, wk += NR, ak += 8) {
            FloatVector x = FloatVector.broadcast(F, a[ak]);
            c0 = x.fma(FloatVector.fromArray(F, wd, wk), c0);
            c1 = x.fma(FloatVector.fromArray(F, wd, wk + L), c1);
        }
        c0.intoArray(c, at);
        c1.intoArray(c, at + L);
    }

    @Override
    public void scores(float[] qt, int qOff, int rows, float[] kt, int ktOff, int ldkt, int dk, int width,
                       float scale, float[] s, int lds) {
        for (int r = 0; r < rows; ) {
            final int block = rows - r >= gemmRows ? gemmRows : rows - r >= 4 ? 4 : 1;
            final int q0 = qOff + r;
            for (int j = 0; j < width; j += NR) {
                if (block == 8) {
                    scores8x2(qt, q0, kt, ktOff + j, ldkt, dk, scale, s, r * lds + j, lds);
                } else if (block == 4) {
                    scores4x2(qt, q0, kt, ktOff + j, ldkt, dk, scale, s, r * lds + j, lds);
                } else {
                    scores1x2(qt, q0, kt, ktOff + j, ldkt, dk, scale, s, r * lds + j);
                }
            }
            r += block;
        }
    }

    /**
     * s[8 queries, 2 vectors of keys] = scale · Σ_c Qᵀ[c][row] · Kᵀ[c][keys]. Qᵀ holds a channel's 8
     * queries side by side and the channels a constant 8 apart: the broadcasts read one address plus
     * constant offsets, and C2 hoists their range checks (with the queries' own row stride it did
     * neither: this kernel ran at 127-141 GFLOP/s on one Xeon core, against 171-191).
     */
    private static void scores8x2(float[] qt, int q0, float[] kt, int kt0, int ldkt, int dk, float scale,
                                  float[] s, int at, int lds) {
        FloatVector s00 = FloatVector.zero(F);
        FloatVector s01 = s00;
        FloatVector s10 = s00;
        FloatVector s11 = s00;
        FloatVector s20 = s00;
        FloatVector s21 = s00;
        FloatVector s30 = s00;
        FloatVector s31 = s00;
        FloatVector s40 = s00;
        FloatVector s41 = s00;
        FloatVector s50 = s00;
        FloatVector s51 = s00;
        FloatVector s60 = s00;
        FloatVector s61 = s00;
        FloatVector s70 = s00;
        FloatVector s71 = s00;
        for (int c = 0, kc = kt0, qc = q0; c < dk; c++, kc += ldkt, qc += Kernels.ROW_BLOCK) {
            FloatVector k0 = FloatVector.fromArray(F, kt, kc);
            FloatVector k1 = FloatVector.fromArray(F, kt, kc + L);
            FloatVector x = FloatVector.broadcast(F, qt[qc]);
            s00 = x.fma(k0, s00);
            s01 = x.fma(k1, s01);
            x = FloatVector.broadcast(F, qt[qc + 1]);
            s10 = x.fma(k0, s10);
            s11 = x.fma(k1, s11);
            x = FloatVector.broadcast(F, qt[qc + 2]);
            s20 = x.fma(k0, s20);
            s21 = x.fma(k1, s21);
            x = FloatVector.broadcast(F, qt[qc + 3]);
            s30 = x.fma(k0, s30);
            s31 = x.fma(k1, s31);
            x = FloatVector.broadcast(F, qt[qc + 4]);
            s40 = x.fma(k0, s40);
            s41 = x.fma(k1, s41);
            x = FloatVector.broadcast(F, qt[qc + 5]);
            s50 = x.fma(k0, s50);
            s51 = x.fma(k1, s51);
            x = FloatVector.broadcast(F, qt[qc + 6]);
            s60 = x.fma(k0, s60);
            s61 = x.fma(k1, s61);
            x = FloatVector.broadcast(F, qt[qc + 7]);
            s70 = x.fma(k0, s70);
            s71 = x.fma(k1, s71);
        }
        s00.mul(scale).intoArray(s, at);
        s01.mul(scale).intoArray(s, at + L);
        s10.mul(scale).intoArray(s, at + lds);
        s11.mul(scale).intoArray(s, at + lds + L);
        s20.mul(scale).intoArray(s, at + 2 * lds);
        s21.mul(scale).intoArray(s, at + 2 * lds + L);
        s30.mul(scale).intoArray(s, at + 3 * lds);
        s31.mul(scale).intoArray(s, at + 3 * lds + L);
        s40.mul(scale).intoArray(s, at + 4 * lds);
        s41.mul(scale).intoArray(s, at + 4 * lds + L);
        s50.mul(scale).intoArray(s, at + 5 * lds);
        s51.mul(scale).intoArray(s, at + 5 * lds + L);
        s60.mul(scale).intoArray(s, at + 6 * lds);
        s61.mul(scale).intoArray(s, at + 6 * lds + L);
        s70.mul(scale).intoArray(s, at + 7 * lds);
        s71.mul(scale).intoArray(s, at + 7 * lds + L);
    }

    private static void scores4x2(float[] qt, int q0, float[] kt, int kt0, int ldkt, int dk, float scale,
                                  float[] s, int at, int lds) {
        FloatVector s00 = FloatVector.zero(F);
        FloatVector s01 = s00;
        FloatVector s10 = s00;
        FloatVector s11 = s00;
        FloatVector s20 = s00;
        FloatVector s21 = s00;
        FloatVector s30 = s00;
        FloatVector s31 = s00;
        for (int c = 0, kc = kt0, qc = q0; c < dk; c++, kc += ldkt, qc += Kernels.ROW_BLOCK) {
            FloatVector k0 = FloatVector.fromArray(F, kt, kc);
            FloatVector k1 = FloatVector.fromArray(F, kt, kc + L);
            FloatVector x = FloatVector.broadcast(F, qt[qc]);
            s00 = x.fma(k0, s00);
            s01 = x.fma(k1, s01);
            x = FloatVector.broadcast(F, qt[qc + 1]);
            s10 = x.fma(k0, s10);
            s11 = x.fma(k1, s11);
            x = FloatVector.broadcast(F, qt[qc + 2]);
            s20 = x.fma(k0, s20);
            s21 = x.fma(k1, s21);
            x = FloatVector.broadcast(F, qt[qc + 3]);
            s30 = x.fma(k0, s30);
            s31 = x.fma(k1, s31);
        }
        s00.mul(scale).intoArray(s, at);
        s01.mul(scale).intoArray(s, at + L);
        s10.mul(scale).intoArray(s, at + lds);
        s11.mul(scale).intoArray(s, at + lds + L);
        s20.mul(scale).intoArray(s, at + 2 * lds);
        s21.mul(scale).intoArray(s, at + 2 * lds + L);
        s30.mul(scale).intoArray(s, at + 3 * lds);
        s31.mul(scale).intoArray(s, at + 3 * lds + L);
    }

    private static void scores1x2(float[] qt, int q0, float[] kt, int kt0, int ldkt, int dk, float scale,
                                  float[] s, int at) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        for (int c = 0, kc = kt0, qc = q0; c < dk; c++, kc += ldkt, qc += Kernels.ROW_BLOCK) {
            FloatVector x = FloatVector.broadcast(F, qt[qc]);
            s0 = x.fma(FloatVector.fromArray(F, kt, kc), s0);
            s1 = x.fma(FloatVector.fromArray(F, kt, kc + L), s1);
        }
        s0.mul(scale).intoArray(s, at);
        s1.mul(scale).intoArray(s, at + L);
    }

    @Override
    public float biasMaskMax(float[] s, int sOff, int from, int visible, int width, float[] bias, int biasOff) {
        FloatVector max0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector max1 = max0;
        for (int t = 0; t < from; t++) {
            s[sOff + t] = Float.NEGATIVE_INFINITY;
        }
        if (bias != null) {
            int t = from; // keys before it are masked above
            for (; t + L <= visible; t += L) {
                FloatVector.fromArray(F, s, sOff + t).add(FloatVector.fromArray(F, bias, biasOff + t))
                        .intoArray(s, sOff + t);
            }
            for (; t < visible; t++) {
                s[sOff + t] += bias[biasOff + t];
            }
        }
        for (int t = visible; t < width; t++) {
            s[sOff + t] = Float.NEGATIVE_INFINITY;
        }
        int j = 0; // width is a multiple of L
        for (; j + 2 * L <= width; j += 2 * L) { // two chains: max has a latency of several cycles
            max0 = max0.max(FloatVector.fromArray(F, s, sOff + j));
            max1 = max1.max(FloatVector.fromArray(F, s, sOff + j + L));
        }
        for (; j < width; j += L) {
            max0 = max0.max(FloatVector.fromArray(F, s, sOff + j));
        }
        return max0.max(max1).reduceLanes(VectorOperators.MAX); // exact in any order
    }

    @Override
    public boolean expAndSum(float[] s, int sOff, int width, float shift, float limit, float[] sums, int sumsOff) {
        return expBlock(s, sOff, s, sOff, width, shift, FastExp.limitBits(limit), sums, sumsOff);
    }

    @Override
    public void scaleInto(float[] src, int sOff, float[] dst, int dOff, int length, float factor) {
        int c = 0;
        for (; c + L <= length; c += L) {
            FloatVector.fromArray(F, src, sOff + c).mul(factor).intoArray(dst, dOff + c);
        }
        for (; c < length; c++) {
            dst[dOff + c] = src[sOff + c] * factor;
        }
    }

    @Override
    public void weightedValues(float[] p, int pOff, int ldp, int rows, int keys, float[] v, int vOff, int ldv,
                               int width, float[] o, int oOff, int ldo) {
        int r = 0;
        if (pvRows == 8) {
            for (; r + 8 <= rows; r += 8) {
                int c = 0;
                for (; c + 2 * L <= width; c += 2 * L) {
                    weightedValues8x2(p, pOff + r * ldp, ldp, keys, v, vOff + c, ldv, o, oOff + r * ldo + c, ldo);
                }
                for (; c < width; c += L) { // one vector of channels left
                    weightedValues4x1(p, pOff + r * ldp, ldp, keys, v, vOff + c, ldv, o, oOff + r * ldo + c, ldo);
                    weightedValues4x1(p, pOff + (r + 4) * ldp, ldp, keys, v, vOff + c, ldv, o,
                            oOff + (r + 4) * ldo + c, ldo);
                }
            }
        }
        if (pvRows == 2) {
            for (; r + 2 <= rows; r += 2) {
                int c = 0;
                for (; c + 4 * L <= width; c += 4 * L) {
                    weightedValues2x4(p, pOff + r * ldp, ldp, keys, v, vOff + c, ldv, o, oOff + r * ldo + c, ldo);
                }
                if (c < width) { // fewer than 4 vectors of channels left: row by row
                    weightedValuesRow(p, pOff + r * ldp, keys, v, vOff + c, ldv, width - c, o, oOff + r * ldo + c);
                    weightedValuesRow(p, pOff + (r + 1) * ldp, keys, v, vOff + c, ldv, width - c, o,
                            oOff + (r + 1) * ldo + c);
                }
            }
        }
        for (; r + 4 <= rows; r += 4) {
            int c = 0;
            for (; c + 4 * L <= width; c += 4 * L) {
                weightedValues4x4(p, pOff + r * ldp, ldp, keys, v, vOff + c, ldv, o, oOff + r * ldo + c, ldo);
            }
            for (; c < width; c += L) {
                weightedValues4x1(p, pOff + r * ldp, ldp, keys, v, vOff + c, ldv, o, oOff + r * ldo + c, ldo);
            }
        }
        for (; r < rows; r++) {
            weightedValuesRow(p, pOff + r * ldp, keys, v, vOff, ldv, width, o, oOff + r * ldo);
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

    private static void weightedValues8x2(float[] p, int pOff, int ldp, int keys, float[] v, int vOff, int ldv,
                                          float[] o, int oOff, int ldo) {
        final int o0 = oOff;
        final int o1 = o0 + ldo;
        final int o2 = o1 + ldo;
        final int o3 = o2 + ldo;
        final int o4 = o3 + ldo;
        final int o5 = o4 + ldo;
        final int o6 = o5 + ldo;
        final int o7 = o6 + ldo;
        FloatVector a00 = FloatVector.fromArray(F, o, o0);
        FloatVector a01 = FloatVector.fromArray(F, o, o0 + L);
        FloatVector a10 = FloatVector.fromArray(F, o, o1);
        FloatVector a11 = FloatVector.fromArray(F, o, o1 + L);
        FloatVector a20 = FloatVector.fromArray(F, o, o2);
        FloatVector a21 = FloatVector.fromArray(F, o, o2 + L);
        FloatVector a30 = FloatVector.fromArray(F, o, o3);
        FloatVector a31 = FloatVector.fromArray(F, o, o3 + L);
        FloatVector a40 = FloatVector.fromArray(F, o, o4);
        FloatVector a41 = FloatVector.fromArray(F, o, o4 + L);
        FloatVector a50 = FloatVector.fromArray(F, o, o5);
        FloatVector a51 = FloatVector.fromArray(F, o, o5 + L);
        FloatVector a60 = FloatVector.fromArray(F, o, o6);
        FloatVector a61 = FloatVector.fromArray(F, o, o6 + L);
        FloatVector a70 = FloatVector.fromArray(F, o, o7);
        FloatVector a71 = FloatVector.fromArray(F, o, o7 + L);
        final int p0 = pOff;
        final int p1 = p0 + ldp;
        final int p2 = p1 + ldp;
        final int p3 = p2 + ldp;
        final int p4 = p3 + ldp;
        final int p5 = p4 + ldp;
        final int p6 = p5 + ldp;
        final int p7 = p6 + ldp;
        for (int j = 0, vj = vOff; j < keys; j++, vj += ldv) {
            FloatVector v0 = FloatVector.fromArray(F, v, vj);
            FloatVector v1 = FloatVector.fromArray(F, v, vj + L);
            FloatVector x = FloatVector.broadcast(F, p[p0 + j]);
            a00 = x.fma(v0, a00);
            a01 = x.fma(v1, a01);
            x = FloatVector.broadcast(F, p[p1 + j]);
            a10 = x.fma(v0, a10);
            a11 = x.fma(v1, a11);
            x = FloatVector.broadcast(F, p[p2 + j]);
            a20 = x.fma(v0, a20);
            a21 = x.fma(v1, a21);
            x = FloatVector.broadcast(F, p[p3 + j]);
            a30 = x.fma(v0, a30);
            a31 = x.fma(v1, a31);
            x = FloatVector.broadcast(F, p[p4 + j]);
            a40 = x.fma(v0, a40);
            a41 = x.fma(v1, a41);
            x = FloatVector.broadcast(F, p[p5 + j]);
            a50 = x.fma(v0, a50);
            a51 = x.fma(v1, a51);
            x = FloatVector.broadcast(F, p[p6 + j]);
            a60 = x.fma(v0, a60);
            a61 = x.fma(v1, a61);
            x = FloatVector.broadcast(F, p[p7 + j]);
            a70 = x.fma(v0, a70);
            a71 = x.fma(v1, a71);
        }
        a00.intoArray(o, o0);
        a01.intoArray(o, o0 + L);
        a10.intoArray(o, o1);
        a11.intoArray(o, o1 + L);
        a20.intoArray(o, o2);
        a21.intoArray(o, o2 + L);
        a30.intoArray(o, o3);
        a31.intoArray(o, o3 + L);
        a40.intoArray(o, o4);
        a41.intoArray(o, o4 + L);
        a50.intoArray(o, o5);
        a51.intoArray(o, o5 + L);
        a60.intoArray(o, o6);
        a61.intoArray(o, o6 + L);
        a70.intoArray(o, o7);
        a71.intoArray(o, o7 + L);
    }

    private static void weightedValues2x4(float[] p, int pOff, int ldp, int keys, float[] v, int vOff, int ldv,
                                          float[] o, int oOff, int ldo) {
        final int o0 = oOff;
        final int o1 = o0 + ldo;
        FloatVector a00 = FloatVector.fromArray(F, o, o0);
        FloatVector a01 = FloatVector.fromArray(F, o, o0 + L);
        FloatVector a02 = FloatVector.fromArray(F, o, o0 + 2 * L);
        FloatVector a03 = FloatVector.fromArray(F, o, o0 + 3 * L);
        FloatVector a10 = FloatVector.fromArray(F, o, o1);
        FloatVector a11 = FloatVector.fromArray(F, o, o1 + L);
        FloatVector a12 = FloatVector.fromArray(F, o, o1 + 2 * L);
        FloatVector a13 = FloatVector.fromArray(F, o, o1 + 3 * L);
        final int p0 = pOff;
        final int p1 = p0 + ldp;
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
        }
        a00.intoArray(o, o0);
        a01.intoArray(o, o0 + L);
        a02.intoArray(o, o0 + 2 * L);
        a03.intoArray(o, o0 + 3 * L);
        a10.intoArray(o, o1);
        a11.intoArray(o, o1 + L);
        a12.intoArray(o, o1 + 2 * L);
        a13.intoArray(o, o1 + 3 * L);
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
        int vectors = length / NR * NR;
        expBlock(src, sOff, dst, dOff, vectors, 0f, Integer.MAX_VALUE, new float[L], 0);
        for (int i = vectors; i < length; i++) {
            dst[dOff + i] = FastExp.exp(src[sOff + i]);
        }
    }

    /**
     * {@code dst[j] = exp(src[j] - shift)} for {@code j < width} (a multiple of 2L, the key step),
     * lane-wise sums added to {@code sums[sumsOff ..]} in ascending j: {@link FastExp#exp(float)}'s
     * operations, so its bits, for {@code src[j] - shift <= 88}. The sums are stored, and true
     * returned, only when no {@code x = src[j] - shift} has raw bits above {@code limitBits}
     * ({@link Kernels#expAndSum}); the largest bits are one integer max per vector. Only the
     * lower clamp of FastExp is kept, as a blend to 0 at the end (lanes below
     * {@link FastExp#LOWEST} compute garbage first): the lane-wise max and min of the Vector API
     * follow Java's NaN and signed-zero rules and cost about 12 instructions per vector, which
     * made this loop twice as slow.
     * One method with the whole formula inline: C2 only compiles Vector API calls to vector
     * instructions where it knows the vector's exact class, which a FloatVector parameter of a
     * method it chose not to inline hides (the calls then allocate, 50 times slower).
     * Two vectors per iteration, which also keeps this method above C2's inlining limit
     * (FreqInlineSize, 325 bytes of bytecode): with one vector it was 322 bytes and C2 inlined it
     * into the attention pass's loop nest, where its constants did not fit in registers and were
     * reloaded from the stack before every FMA.
     */
    private static boolean expBlock(float[] src, int sOff, float[] dst, int dOff, int width, float shift,
                                    int limitBits, float[] sums, int sumsOff) {
        FloatVector sum = FloatVector.fromArray(F, sums, sumsOff);
        IntVector top = FloatVector.zero(F).reinterpretAsInts();
        for (int j = 0; j < width; j += NR) {
            FloatVector x0 = FloatVector.fromArray(F, src, sOff + j).sub(shift);
            FloatVector t0 = x0.fma(FastExp.LOG2E, FastExp.MAGIC);
            FloatVector n0 = t0.sub(FastExp.MAGIC);
            FloatVector r0 = n0.fma(FloatVector.broadcast(F, -FastExp.LN2_HI), x0);
            r0 = n0.fma(FloatVector.broadcast(F, -FastExp.LN2_LO), r0);
            FloatVector p0 = FloatVector.broadcast(F, FastExp.C7).fma(r0, FloatVector.broadcast(F, FastExp.C6));
            p0 = p0.fma(r0, FloatVector.broadcast(F, FastExp.C5));
            p0 = p0.fma(r0, FloatVector.broadcast(F, FastExp.C4));
            p0 = p0.fma(r0, FloatVector.broadcast(F, FastExp.C3));
            p0 = p0.fma(r0, FloatVector.broadcast(F, FastExp.C2));
            p0 = p0.fma(r0, FloatVector.broadcast(F, 1f));
            p0 = p0.fma(r0, FloatVector.broadcast(F, 1f));
            FloatVector twoToN0 = t0.reinterpretAsInts()
                    .sub(FastExp.MAGIC_BITS - 127)
                    .lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
            FloatVector e0 = p0.mul(twoToN0).blend(0f, x0.compare(VectorOperators.LT, FastExp.LOWEST));
            FloatVector x1 = FloatVector.fromArray(F, src, sOff + j + L).sub(shift);
            top = top.max(x0.reinterpretAsInts()).max(x1.reinterpretAsInts());
            FloatVector t1 = x1.fma(FastExp.LOG2E, FastExp.MAGIC);
            FloatVector n1 = t1.sub(FastExp.MAGIC);
            FloatVector r1 = n1.fma(FloatVector.broadcast(F, -FastExp.LN2_HI), x1);
            r1 = n1.fma(FloatVector.broadcast(F, -FastExp.LN2_LO), r1);
            FloatVector p1 = FloatVector.broadcast(F, FastExp.C7).fma(r1, FloatVector.broadcast(F, FastExp.C6));
            p1 = p1.fma(r1, FloatVector.broadcast(F, FastExp.C5));
            p1 = p1.fma(r1, FloatVector.broadcast(F, FastExp.C4));
            p1 = p1.fma(r1, FloatVector.broadcast(F, FastExp.C3));
            p1 = p1.fma(r1, FloatVector.broadcast(F, FastExp.C2));
            p1 = p1.fma(r1, FloatVector.broadcast(F, 1f));
            p1 = p1.fma(r1, FloatVector.broadcast(F, 1f));
            FloatVector twoToN1 = t1.reinterpretAsInts()
                    .sub(FastExp.MAGIC_BITS - 127)
                    .lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
            FloatVector e1 = p1.mul(twoToN1).blend(0f, x1.compare(VectorOperators.LT, FastExp.LOWEST));
            e0.intoArray(dst, dOff + j);
            e1.intoArray(dst, dOff + j + L);
            sum = sum.add(e0).add(e1);
        }
        if (top.reduceLanes(VectorOperators.MAX) > limitBits) {
            return false;
        }
        sum.intoArray(sums, sumsOff);
        return true;
    }
}
