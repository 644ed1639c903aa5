package io.github.clattn.cpu;

import io.github.clattn.reference.Tensors;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The hot kernels of the Java path on one thread, for both kernel sets ({@code path} parameter).
 * Shapes are those of the benchmark layer (D = 512, dk = 64):
 *
 * <pre>
 *   gemm              C [128, 512] = A [128, 512] · W [512, 512]          33.6 M multiply-adds
 *   scores            s [64 queries, 256 keys], dk = 64, Qᵀ in groups of 8 1.05 M multiply-adds
 *   weightedValues    o [64, 64] += p [64, 256] · V [256, 64]            1.05 M multiply-adds
 *   attentionBlock    one task of pass 2: 64 queries × 1024 keys          8.4 M multiply-adds + 64 K exp
 *                     (-p blockKeys=128: one key block, 1.05 M multiply-adds + 8 K exp)
 *   exp / mathExp     4096 floats, the kernel's exp against Math.exp      (score: ns per element)
 * </pre>
 *
 * Kᵀ and V sit in arrays of 4 MiB, which G1 starts on a region boundary, with rows on 64-byte
 * boundaries as {@link KeyValues} lays them out ({@code -p aligned=false}: 16 bytes off for scores
 * and weightedValues, so every vector load of them spans two cache lines). GFLOP/s = 2 ·
 * multiply-adds / time. Run with {@code scripts/jmh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class KernelBenchmark {
    private static final int D = 512;
    private static final int ROWS = 128;
    private static final int DK = 64;
    private static final int QUERIES = 64;
    private static final int KEYS = 256;
    private static final int LONG_KEYS = 1024;
    private static final int EXP_COUNT = 4096;

    @Param({"java-vector", "java-scalar"})
    public String path;

    /** Parameters other than the defaults for the vector kernels, e.g. {@code -p params=PV_ROWS=8,KEY_BLOCK=128}. */
    @Param({""})
    public String params;

    /** Keys of attentionBlock (128: one key block, as at N = 128 and BERT-base). */
    @Param({"1024"})
    public int blockKeys;

    /** Whether the rows of Kᵀ and V start on 64-byte boundaries. */
    @Param({"true"})
    public boolean aligned;

    private static final int LARGE = 1 << 20;

    private Kernels kernels;
    private int lead;
    private float[] a;
    private PackedMatrix w;
    private ProjectionTarget c;
    private float[] q;
    private float[] kt;
    private float[] v;
    private float[] s;
    private float[] o;
    private float[] expIn;
    private float[] expOut;
    private AttentionPass block;
    private int keyStride;

    @Setup
    public void setup() {
        kernels = path.equals("java-scalar") ? ScalarKernels.INSTANCE : JavaKernels.select();
        if (!kernels.path().equals(path)) {
            throw new IllegalStateException("wanted " + path + " but got " + kernels.path() + ": "
                    + JavaKernels.vectorUnavailableReason().orElse(""));
        }
        for (String setting : params.split(",")) {
            if (!setting.isBlank()) {
                String[] nv = setting.split("=", 2);
                if (nv.length != 2) {
                    throw new IllegalArgumentException("params: expected NAME=VALUE[,NAME=VALUE...], got " + params);
                }
                kernels = kernels.withParams(kernels.params().with(nv[0].trim(), Integer.parseInt(nv[1].trim())));
            }
        }
        SplittableRandom rnd = new SplittableRandom(1);
        a = Tensors.uniform(rnd, ROWS * D, 1);
        w = PackedMatrix.pack(Tensors.uniform(rnd, D * D, 0.05), null, D, D, kernels.panelWidth());
        c = ProjectionTarget.rowMajor(new float[ROWS * D], D);
        q = Tensors.uniform(rnd, QUERIES * DK, 1);
        keyStride = kernels.keyStride(LONG_KEYS);
        lead = aligned ? KeyValues.LEAD : KeyValues.LEAD + 4;
        kt = large(Tensors.uniform(rnd, DK * keyStride, 1));
        v = large(Tensors.uniform(rnd, LONG_KEYS * DK + kernels.lanes(), 1));
        s = Tensors.uniform(rnd, QUERIES * KEYS, 0.1f);
        o = new float[QUERIES * DK];
        expIn = Tensors.uniform(rnd, EXP_COUNT, 20);
        for (int i = 0; i < EXP_COUNT; i++) {
            expIn[i] = -Math.abs(expIn[i]);
        }
        expOut = new float[EXP_COUNT];
        if (blockKeys < 1 || blockKeys > LONG_KEYS) {
            throw new IllegalArgumentException("blockKeys: expected 1 to " + LONG_KEYS + ", got " + blockKeys);
        }
        KeyValues kv = new KeyValues(kernels, 1, 1, DK, blockKeys, kt, v); // always KeyValues' own layout
        block = new AttentionPass(kernels, AttentionPass.Queries.forward(1, QUERIES, blockKeys, 1, q, null, false,
                0.125f, AttentionPass.Modifiers.NONE), kv, null, 0, new float[QUERIES * DK], null, 0, null);
    }

    /** A copy of {@code a} in an array of at least 4 MiB (G1 starts it on a region boundary). */
    private static float[] large(float[] a) {
        return java.util.Arrays.copyOf(a, Math.max(a.length, LARGE));
    }

    @Benchmark
    public float[] gemm() {
        kernels.project(a, 0, ROWS, w, 0, w.panels, c);
        return c.data;
    }

    @Benchmark
    public float[] scores() {
        for (int r = 0; r < QUERIES; r += Kernels.ROW_BLOCK) {
            kernels.scores(q, r * DK, Kernels.ROW_BLOCK, kt, lead, keyStride, DK, KEYS, 0.125f, s, KEYS);
        }
        return s;
    }

    @Benchmark
    public float[] weightedValues() {
        for (int r = 0; r < QUERIES; r += Kernels.ROW_BLOCK) {
            kernels.weightedValues(s, r * KEYS, KEYS, Kernels.ROW_BLOCK, KEYS, v, lead, DK, DK, o, r * DK, DK);
        }
        return o;
    }

    @Benchmark
    public void attentionBlock() {
        for (int t = 0; t < block.tasks(); t++) {
            block.run(t);
        }
    }

    @Benchmark
    @OperationsPerInvocation(EXP_COUNT)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public float[] exp() {
        kernels.exp(expIn, 0, expOut, 0, EXP_COUNT);
        return expOut;
    }

    @Benchmark
    @OperationsPerInvocation(EXP_COUNT)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public void mathExp(Blackhole bh) {
        for (int i = 0; i < EXP_COUNT; i++) {
            expOut[i] = (float) Math.exp(expIn[i]);
        }
        bh.consume(expOut);
    }
}
