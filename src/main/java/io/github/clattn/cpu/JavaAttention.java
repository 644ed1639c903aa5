package io.github.clattn.cpu;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.core.Backend;
import io.github.clattn.core.CacheBackend;
import io.github.clattn.core.RopeTable;
import io.github.clattn.core.Shapes;
import java.lang.ref.SoftReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntBinaryOperator;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pure-Java attention path: same contract and tolerance as the OpenCL path, tiled, on every
 * thread of {@link CpuThreads}, with Vector API kernels when the JVM has
 * {@code jdk.incubator.vector} and scalar ones otherwise ({@link AttentionOutput#path()} says
 * {@code java-vector} or {@code java-scalar}).
 *
 * <pre>
 *   pass 1 (projection):        Q = x·W_Q + b_q [B*N, H*dk];  Kᵀ and V of Hkv heads ({@link KeyValues})
 *                               one task per (projection, 64 rows, 512 columns; 128 below 128 rows);
 *                               weights pre-packed;
 *                               then RoPE on Q and K when the options have it
 *   pass 2 (attention):         {@link AttentionPass}: one task per (batch, head, query block), online
 *                               softmax over key blocks, no N×M buffer; or, one query per sequence,
 *                               {@link DecodePass}: the keys split across tasks, combined by log-sum-exp
 *   pass 3 (output_projection): out = heads_out·W_O + b_O
 * </pre>
 *
 * Every output element is computed by one task in a fixed order, so results are bitwise the same
 * for any number of threads. Memory per call is linear in N and M (apart from requested
 * weights). The packed weights are read-only after construction: any number of threads may call
 * {@link #forward} at once.
 */
final class JavaAttention implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(JavaAttention.class);

    /** Rows of A per projection task: 64 rows of D floats stay in L2 while the panels stream. */
    static final int PROJECTION_ROWS = 64;
    /**
     * Output columns per projection task: 512 when there are two row blocks or more (the task's rows
     * are transposed once for all of them, see {@code VectorKernels#project}), else 128, so a few
     * rows still make enough tasks for every core.
     */
    static final int PROJECTION_COLUMNS = 512;
    static final int PROJECTION_COLUMNS_FEW_ROWS = 128;
    /** Floats of Q, Kᵀ and V held strongly per thread between calls (16 MiB): N = 1024, D = 512 needs 1.6 M. */
    static final int WORKSPACE_KEPT_STRONGLY = 4 << 20;

    final Kernels kernels;
    final AttentionWeights w;
    final AttentionOptions options;
    private final float scale;
    private final PackedMatrix wQ;
    private final PackedMatrix wK;
    private final PackedMatrix wV;
    private final PackedMatrix wO;

    JavaAttention(AttentionWeights weights, AttentionOptions options) {
        this(weights, options, JavaKernels.select());
    }

    JavaAttention(AttentionWeights weights, AttentionOptions options, Kernels kernels) {
        this.kernels = kernels;
        this.w = weights;
        this.options = options.validateFor(weights.heads(), weights.headDim());
        this.scale = options.effectiveScale(weights.headDim());
        int d = weights.dModel();
        int hd = weights.projectedDim();
        int nr = kernels.panelWidth();
        this.wQ = PackedMatrix.pack(weights.wQ(), weights.bQ(), d, hd, nr);
        this.wK = PackedMatrix.pack(weights.wK(), weights.bK(), d, weights.kvDim(), nr);
        this.wV = PackedMatrix.pack(weights.wV(), weights.bV(), d, weights.kvDim(), nr);
        this.wO = weights.hasOutputProjection() ? PackedMatrix.pack(weights.wO(), weights.bO(), hd, d, nr) : null;
        LOG.debug("Java attention layer D={} H={} Hkv={} dk={} on {} ({} threads)", d, weights.heads(),
                weights.kvHeads(), weights.headDim(), kernels.path(), CpuThreads.threads());
    }

    /** The inner path this layer runs: {@code java-vector} or {@code java-scalar}. */
    public String path() {
        return kernels.path();
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
        float[] kvSource = in.keyValueSource();
        Map<String, Double> millis = new LinkedHashMap<>();

        long t0 = System.nanoTime();
        Workspace ws = Workspace.take(Shapes.arrayLength("Q", "[B, N, H*dk]", b, n, hd),
                KeyValues.ktLength(kernels, b, w.kvHeads(), dk, m), KeyValues.vLength(kernels, b, w.kvHeads(), dk, m));
        float[] q = ws.q;
        KeyValues kv = new KeyValues(kernels, b, w.kvHeads(), dk, m, ws.kt, ws.v);
        project(new Projection(in.x(), b * n, wQ, ProjectionTarget.rowMajor(q, hd)),
                new Projection(kvSource, b * m, wK, kv.keyTarget()),
                new Projection(kvSource, b * m, wV, kv.valueTarget()));
        if (options.rope() != null) {
            // query i at position i + (M - N), key j at j: one table row per position of the call
            int first = Math.min(0, m - n);
            RopeTable table = RopeTable.of(options.rope(), dk, RopeTable.range(first, m - first));
            rotateQueries(table, q, b, n, h, dk, (batch, i) -> i + m - n - first);
            kv.rotateKeys(table, new int[b], filled(b, m), (batch, j) -> j - first);
        }
        long t1 = System.nanoTime();
        millis.put("projection", (t1 - t0) / 1e6);

        float[] headsOut = new float[b * n * hd];
        float[] weights = in.returnWeights()
                ? new float[Shapes.arrayLength("weights", "[B, H, N, M]", b, h, n, m)] : null;
        float[] lse = in.returnLse() ? new float[b * h * n] : null;
        float[] keyMass = in.returnKeyMass() ? new float[Shapes.arrayLength("keyMass", "[B, H, M]", b, h, m)] : null;
        attend(kernels, AttentionPass.Queries.forward(b, n, m, h, q, in.keyValidLength(), options.causal(), scale,
                AttentionPass.Modifiers.of(options)), kv, in.attnBias(), m, headsOut, weights, m, lse, keyMass);
        long t2 = System.nanoTime();
        millis.put("attention", (t2 - t1) / 1e6);

        float[] out = outputProjection(headsOut, b * n, millis, t2);
        ws.release();
        return new AttentionOutput(b, n, m, h, dk, d, headsOut, out, weights, lse, keyMass, kernels.path(), millis);
    }

    /** {@code heads_out · W_O + b_O} of {@code rows} rows, or null without W_O (timed as output_projection). */
    float[] outputProjection(float[] headsOut, int rows, Map<String, Double> millis, long since) {
        if (wO == null) {
            return null;
        }
        float[] out = new float[rows * w.dModel()];
        project(new Projection(headsOut, rows, wO, ProjectionTarget.rowMajor(out, w.dModel())));
        millis.put("output_projection", (System.nanoTime() - since) / 1e6);
        return out;
    }

    /** Q, K and V of {@code rows} rows of {@code x}, row-major ({@code [rows, H*dk]}, {@code [rows, Hkv*dk]} twice). */
    void projectRows(float[] x, int rows, float[] q, float[] k, float[] v) {
        project(new Projection(x, rows, wQ, ProjectionTarget.rowMajor(q, w.projectedDim())),
                new Projection(x, rows, wK, ProjectionTarget.rowMajor(k, w.kvDim())),
                new Projection(x, rows, wV, ProjectionTarget.rowMajor(v, w.kvDim())));
    }

    @Override
    public CacheBackend openCache(int batch, int capacity) {
        return new JavaCache(kernels, w.heads(), w.kvHeads(), w.headDim(), options, batch, capacity, this);
    }

    static int[] filled(int count, int value) {
        int[] a = new int[count];
        Arrays.fill(a, value);
        return a;
    }

    /**
     * Rotates every head of the queries {@code q [B*n, H*dk]} in place: row i of sequence b by row
     * {@code tableRow(b, i)} of {@code table}.
     */
    static void rotateQueries(RopeTable table, float[] q, int batch, int n, int heads, int dk,
                              IntBinaryOperator tableRow) {
        int hd = heads * dk;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < n; i++) {
                int row = tableRow.applyAsInt(b, i);
                for (int h = 0; h < heads; h++) {
                    table.rotate(q, (b * n + i) * hd + h * dk, 1, row);
                }
            }
        }
    }

    /**
     * The attention pass of one call on every thread: {@link DecodePass} when each sequence has
     * one query and neither a bias nor the weights are asked for, else {@link AttentionPass}.
     */
    static void attend(Kernels kernels, AttentionPass.Queries queries, KeyValues kv, float[] bias, int biasColumns,
                       float[] headsOut, float[] weights, int weightColumns) {
        attend(kernels, queries, kv, bias, biasColumns, headsOut, weights, weightColumns, null, null);
    }

    /**
     * As above, also giving each row's log-sum-exp into {@code lse [B, H, N]} and the attention each
     * key received into {@code keyMass [B, H, keys]} when they are not null (the key mass by a second
     * pass, {@link KeyMassPass}).
     */
    static void attend(Kernels kernels, AttentionPass.Queries queries, KeyValues kv, float[] bias, int biasColumns,
                       float[] headsOut, float[] weights, int weightColumns, float[] lse, float[] keyMass) {
        float[] rowLse = lse != null ? lse : keyMass != null
                ? new float[queries.batch() * queries.heads() * queries.n()] : null;
        if (queries.n() == 1 && bias == null && weights == null) {
            DecodePass pass = new DecodePass(kernels, queries, kv, headsOut, rowLse);
            CpuThreads.forEach(pass.tasks(), pass.workPerTask(), pass::run);
            pass.combine();
        } else {
            AttentionPass pass = new AttentionPass(kernels, queries, kv, bias, biasColumns, headsOut, weights,
                    weightColumns, rowLse);
            // with the weights a task may allocate its score rows; such passes are not watched
            BoxedKernelWatch.Mark mark = weights == null ? BoxedKernelWatch.before() : null;
            CpuThreads.forEach(pass.tasks(), pass.workPerTask(), pass::run);
            BoxedKernelWatch.after(mark, kernels, pass.kernels(), pass.tasks() * pass.workPerTask());
        }
        if (keyMass != null) {
            KeyMassPass mass = new KeyMassPass(kernels, queries, kv, bias, biasColumns, rowLse, keyMass,
                    keyMass.length / (queries.batch() * queries.heads()));
            CpuThreads.forEach(mass.tasks(), mass.workPerTask(), mass::run);
        }
    }

    /**
     * Q, Kᵀ and V of one call, kept per calling thread for its next call: so a call neither zeroes
     * nor garbage-collects megabytes. Small ones are held strongly; large ones (N = 4096, D = 512
     * needs 24 MiB) only softly, so the collector may take them back when the heap runs short. They
     * need no clearing: every element a call reads is written by its projections first, except the
     * padding keys and channels, which only reach scores and lanes that are masked or dropped.
     */
    static final class Workspace {
        private static final ThreadLocal<Workspace> KEPT = new ThreadLocal<>();
        private static final ThreadLocal<SoftReference<Workspace>> KEPT_SOFTLY = new ThreadLocal<>();

        float[] q = new float[0];
        float[] kt = new float[0];
        float[] v = new float[0];

        static Workspace take(int qLength, int ktLength, int vLength) {
            Workspace ws = KEPT.get();
            SoftReference<Workspace> soft = KEPT_SOFTLY.get();
            KEPT.remove();
            KEPT_SOFTLY.remove();
            if (ws == null && soft != null) {
                ws = soft.get();
            }
            if (ws == null) {
                ws = new Workspace();
            }
            ws.q = ws.q.length >= qLength ? ws.q : new float[qLength];
            ws.kt = ws.kt.length >= ktLength ? ws.kt : new float[ktLength];
            ws.v = ws.v.length >= vLength ? ws.v : new float[vLength];
            return ws;
        }

        void release() {
            if ((long) q.length + kt.length + v.length <= WORKSPACE_KEPT_STRONGLY) {
                KEPT.set(this);
            } else {
                KEPT_SOFTLY.set(new SoftReference<>(this));
            }
        }
    }

    /** One projection {@code A [rows, inner] · W}, cut into (64 rows × 512 or 128 columns) tasks. */
    private final class Projection {
        final float[] a;
        final int rows;
        final PackedMatrix w;
        final ProjectionTarget out;
        final int panelsPerTask;
        final int panelChunks;
        final int tasks;

        Projection(float[] a, int rows, PackedMatrix w, ProjectionTarget out) {
            this.a = a;
            this.rows = rows;
            this.w = w;
            this.out = out;
            int columns = rows >= 2 * PROJECTION_ROWS ? PROJECTION_COLUMNS : PROJECTION_COLUMNS_FEW_ROWS;
            this.panelsPerTask = Math.max(1, columns / w.panelWidth);
            this.panelChunks = PackedMatrix.ceilDiv(w.panels, panelsPerTask);
            this.tasks = PackedMatrix.ceilDiv(rows, PROJECTION_ROWS) * panelChunks;
        }

        void run(int task) {
            int r0 = task / panelChunks * PROJECTION_ROWS;
            int p0 = task % panelChunks * panelsPerTask;
            kernels.project(a, r0, Math.min(rows, r0 + PROJECTION_ROWS), w, p0, Math.min(w.panels, p0 + panelsPerTask),
                    out);
        }
    }

    /**
     * Runs every task of the projections in one parallel region. Projections of the same rows (Q, K
     * and V of self-attention) run as one task per row block ({@link Kernels#projectEach}: the rows
     * are prepared once for all three) when that takes no more rounds of tasks per thread than
     * running each projection's tasks apart.
     */
    private void project(Projection... jobs) {
        int threads = CpuThreads.threads();
        List<IntConsumer> groups = new ArrayList<>();
        List<Integer> groupTasks = new ArrayList<>();
        long work = 0;
        for (int i = 0, j; i < jobs.length; i = j) {
            int apart = 0;
            for (j = i; j < jobs.length && jobs[j].a == jobs[i].a && jobs[j].rows == jobs[i].rows; j++) {
                apart += jobs[j].tasks;
                work += (long) jobs[j].rows * jobs[j].w.inner * jobs[j].w.cols;
            }
            Projection[] group = Arrays.copyOfRange(jobs, i, j);
            int rowBlocks = PackedMatrix.ceilDiv(jobs[i].rows, PROJECTION_ROWS);
            if (group.length > 1 && (long) PackedMatrix.ceilDiv(rowBlocks, threads) * (apart / rowBlocks)
                    <= PackedMatrix.ceilDiv(apart, threads)) {
                groups.add(together(group));
                groupTasks.add(rowBlocks);
            } else {
                for (Projection job : group) {
                    groups.add(job::run);
                    groupTasks.add(job.tasks);
                }
            }
        }
        int[] first = new int[groups.size() + 1];
        for (int i = 0; i < groups.size(); i++) {
            first[i + 1] = first[i] + groupTasks.get(i);
        }
        int tasks = first[groups.size()];
        CpuThreads.forEach(tasks, work / Math.max(tasks, 1), t -> {
            int i = 0;
            while (t >= first[i + 1]) {
                i++;
            }
            groups.get(i).accept(t - first[i]);
        });
    }

    /** The tasks of projections of the same rows run together: task t is row block t, every panel of each. */
    private IntConsumer together(Projection[] group) {
        PackedMatrix[] ws = new PackedMatrix[group.length];
        ProjectionTarget[] outs = new ProjectionTarget[group.length];
        for (int i = 0; i < group.length; i++) {
            ws[i] = group[i].w;
            outs[i] = group[i].out;
        }
        float[] a = group[0].a;
        int rows = group[0].rows;
        return block -> {
            int r0 = block * PROJECTION_ROWS;
            kernels.projectEach(a, r0, Math.min(rows, r0 + PROJECTION_ROWS), ws, outs);
        };
    }

    @Override
    public void close() {
        // nothing held beyond the packed weights, which the garbage collector reclaims
    }
}
