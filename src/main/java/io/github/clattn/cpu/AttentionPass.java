package io.github.clattn.cpu;

import io.github.clattn.core.Heads;
import io.github.clattn.core.Shapes;
import java.util.Arrays;

/**
 * The attention pass of one call: for each task (batch b, head h, query block) the fused loop of
 * flash attention over key blocks, with no {@code N×M} buffer.
 *
 * <pre>
 *   Q [B*N, H*dk]   K/V as {@link KeyValues} (Hkv heads, a capacity per sequence)   heads_out [B*N, H*dk]
 *   query head h reads K/V head g = kvHead(h) ({@link Heads})
 *   query i of batch b sits at position p_i = queryStart[b] + i and sees the keys [start_i, end_i),
 *       start_i = max(0, p_i - windowLeft) with a left window, else 0
 *       end_i = min(keyLength[b], p_i + 1 if causal, p_i + windowRight + 1 with a right window);
 *       nothing for rows i >= rows[b]; both non-decreasing in i, so key blocks before the first
 *       row's window are never visited
 *   per key block [j0, j0+KB), per group of up to 8 queries:
 *       s = scale·q·kᵀ; softcap C·tanh(s/C); + bias; - slope_h·|p_i - j|     (scores, softcapAlibi)
 *       a block with no bias whose keys the row all sees, once m is finite:
 *           p_j = exp(s_j - m) and l += Σ_j p_j, m kept                      (expAndSum)
 *           (if some s_j > m + SHIFT_LIMIT instead: the row's scores are made again, as below)
 *       any other block:
 *           s_j = -∞ outside [start_i, end_i)                               (biasMaskMax)
 *           m' = max(m, max_j s_j);  p_j = exp(s_j - m');  α = exp(m - m')   (expAndSum)
 *           l = α·l + Σ_j p_j;  o = α·o;  m = m'                              (scaleInto)
 *       o += Σ_{visible j} p_j·v_j                                            (weightedValues)
 *       (m is the row's shift: the largest score of the blocks that set it, not always the largest
 *       score seen, which only changes the rounding; l is kept as one partial sum per vector lane
 *       and added up once at the end; a sink starts the row at m = sink_h, l = 1)
 *   heads_out_i = o / l, or 0 when l = 0 (no visible key, or all scores -∞);  lse_i = m + log l
 * </pre>
 *
 * A forward call has queryStart = M - N, keyLength = min(M, keyValidLength[b]), rows = N; a cache
 * step has its sequences' own positions and lengths. Hidden keys are skipped by range: their
 * values are never read and their scores are replaced, so NaN or ∞ in a hidden key or value
 * cannot reach the output. When weights are requested the key block spans every key, so
 * {@code p / l} is final after one block and is written out.
 */
final class AttentionPass {
    /** Keys per block of the key-mass and decode passes; the attention pass takes its kernels' KEY_BLOCK. */
    static final int KEY_BLOCK = JavaParams.DEFAULT.keyBlock();
    private static final int MIN_QUERY_BLOCK = 16;
    private static final int MIN_TASKS = 8;

    /**
     * How far (in natural-log units) a score may lie above its row's shift m before the block is
     * redone with a new shift: e^14 ≈ 1.2e6 bounds each {@code p = exp(s - m)}, so {@code l} and
     * {@code o} keep all but 2^21 of float's range (they overflow only if the number of keys times
     * the largest |value| exceeds about 2.8e32).
     */
    static final float SHIFT_LIMIT = 14f;

    /** Score rows longer than this (weights of very long contexts) are not kept per thread. */
    private static final int MAX_KEPT_SCORES = 1 << 20;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** This thread's buffers (shared by the attention and decode passes a thread runs one task at a time). */
    static Scratch scratch() {
        return SCRATCH.get();
    }

    /**
     * The score modifiers of a call (see {@link io.github.clattn.AttentionOptions}): a sliding
     * window, softcap, ALiBi slopes and sink logits per head, any of them absent.
     */
    record Modifiers(int windowLeft, int windowRight, float softcap, float[] alibi, float[] sinks) {
        static final Modifiers NONE = new Modifiers(-1, -1, 0, null, null);

        static Modifiers of(io.github.clattn.AttentionOptions o) {
            return new Modifiers(o.windowLeft(), o.windowRight(), (float) o.softcap(), o.alibiSlopes(), o.sinks());
        }

        boolean scoresChanged() {
            return softcap > 0 || alibi != null;
        }

        float slope(int head) {
            return alibi == null ? 0f : alibi[head];
        }
    }

    /** Where the queries are and what each may see. */
    record Queries(int batch, int n, int heads, float[] q, int[] queryStart, int[] keyLength, int[] rows,
                   boolean causal, float scale, Modifiers modifiers) {
        /** Position of query {@code i} of batch row {@code b}. */
        long position(int b, int i) {
            return (long) queryStart[b] + i;
        }

        /** The first key query {@code i} of batch row {@code b} sees (the window's left edge). */
        int firstKey(int b, int i) {
            int left = modifiers.windowLeft();
            return left < 0 || i >= rows[b] ? 0 : (int) Math.max(0, position(b, i) - left);
        }

        /** The end of the keys query {@code i} of batch row {@code b} sees: they are {@code [firstKey, end)}. */
        int visibleKeys(int b, int i) {
            if (i >= rows[b]) {
                return 0;
            }
            long end = keyLength[b];
            if (causal) {
                end = Math.min(end, position(b, i) + 1);
            }
            if (modifiers.windowRight() >= 0) {
                end = Math.min(end, position(b, i) + modifiers.windowRight() + 1);
            }
            return (int) Math.max(end, firstKey(b, i));
        }

        int maxKeys() {
            int max = 0;
            for (int k : keyLength) {
                max = Math.max(max, k);
            }
            return max;
        }

        /** A forward call's: positions M - N, every row, keys up to min(M, valid length). */
        static Queries forward(int batch, int n, int m, int heads, float[] q, int[] validLength, boolean causal,
                               float scale, Modifiers modifiers) {
            int[] start = new int[batch];
            int[] keys = new int[batch];
            int[] rows = new int[batch];
            for (int b = 0; b < batch; b++) {
                start[b] = m - n;
                keys[b] = validLength == null ? m : Math.min(m, validLength[b]);
                rows[b] = n;
            }
            return new Queries(batch, n, heads, q, start, keys, rows, causal, scale, modifiers);
        }
    }

    private final Kernels kernels;
    private final Queries queries;
    private final KeyValues kv;
    private final int batch;
    private final int n;
    private final int heads;
    private final int dk;
    private final int hd;
    private final int dkPad;
    private final int keyBlock;
    private final int queryBlock;
    private final int queryBlocks;
    private final int maxKeys;
    private final float[] q;
    private final float[] bias;
    private final int biasColumns;
    private final float[] headsOut;
    private final float[] weights;
    private final int weightColumns;
    private final float[] lse;

    /**
     * {@code bias [N, biasColumns]}, {@code weights [B, H, N, weightColumns]} and {@code lse [B, H, N]}
     * may be null (the weights and lse when not requested).
     */
    AttentionPass(Kernels kernels, Queries queries, KeyValues kv, float[] bias, int biasColumns, float[] headsOut,
                  float[] weights, int weightColumns, float[] lse) {
        this.queries = queries;
        this.kv = kv;
        this.batch = queries.batch();
        this.n = queries.n();
        this.heads = queries.heads();
        this.dk = kv.dk;
        this.hd = heads * dk;
        this.dkPad = PackedMatrix.roundUp(dk, kernels.lanes());
        this.maxKeys = queries.maxKeys();
        this.keyBlock = weights != null ? PackedMatrix.roundUp(Math.max(1, weightColumns), kernels.keyStep())
                : kernels.params().keyBlock();
        // on one of the kernels' two separately compiled copies (Kernels.manyBlocks, Kernels.oneBlock)
        this.kernels = maxKeys > keyBlock ? kernels.manyBlocks() : kernels.oneBlock();
        Shapes.arrayLength("scores", "[" + Kernels.ROW_BLOCK + " queries, M=" + weightColumns + " keys] (returned weights)",
                Kernels.ROW_BLOCK, keyBlock);
        int qb = kernels.params().queryBlock(); // queries per task, unless too few tasks would keep the cores busy
        while (qb > MIN_QUERY_BLOCK && (long) batch * heads * PackedMatrix.ceilDiv(n, qb) < MIN_TASKS) {
            qb /= 2;
        }
        this.queryBlock = qb;
        this.queryBlocks = PackedMatrix.ceilDiv(n, qb);
        this.q = queries.q();
        this.bias = bias;
        this.biasColumns = biasColumns;
        this.headsOut = headsOut;
        this.weights = weights;
        this.weightColumns = weightColumns;
        this.lse = lse;
    }

    /**
     * The kernels the tasks run on: {@code kernels.manyBlocks()} when the keys span several blocks,
     * else {@code kernels.oneBlock()}.
     */
    Kernels kernels() {
        return kernels;
    }

    int tasks() {
        return batch * heads * queryBlocks;
    }

    /** Multiply-adds of one task, about: scores and weighted values over every key. */
    long workPerTask() {
        return 2L * queryBlock * maxKeys * dk;
    }

    /**
     * Runs one task. The tasks of one (batch, head) are consecutive, so the threads work through a
     * head's K and V together while they are in cache (against head after head, this took 9-11 %
     * off the attention stage at N = 2048-4096 on a 2-core Zen 5); within a head the last query blocks
     * (the most keys under a causal mask) come first, so the last tasks of a pass are short.
     */
    void run(int task) {
        final int block = queryBlocks - 1 - task % queryBlocks;
        final int h = task / queryBlocks % heads;
        final int b = task / queryBlocks / heads;
        final int i0 = block * queryBlock;
        // rows past queries.rows[b] (padding of a ragged cache step) see nothing and stay zero
        final int rows = Math.min(Math.min(queryBlock, n - i0), queries.rows()[b] - i0);
        if (rows <= 0) {
            return;
        }
        final int lds = keyBlock;
        final Modifiers mod = queries.modifiers();

        Scratch sc = scratch();
        final int scoresLength = Kernels.ROW_BLOCK * lds;
        sc.ensure(scoresLength <= MAX_KEPT_SCORES ? scoresLength : 0, rows * dkPad, rows, kernels.lanes(),
                dk * queryBlock);
        final float[] s = scoresLength <= MAX_KEPT_SCORES ? sc.scores : new float[scoresLength];
        final float[] o = sc.out;
        final float[] runningMax = sc.runningMax;
        final float[] runningSum = sc.runningSum; // lanes() partial sums per query
        final int lanes = kernels.lanes();
        final int[] start = sc.start;
        final int[] end = sc.end;
        final int[] from = sc.from;
        final int[] live = sc.live;
        for (int r = 0; r < rows; r++) {
            start[r] = queries.firstKey(b, i0 + r);
            end[r] = queries.visibleKeys(b, i0 + r);
        }
        // a sink starts every row's softmax as one more logit with no value: m = sink, l = 1
        Arrays.fill(runningMax, 0, rows, mod.sinks() == null ? Float.NEGATIVE_INFINITY : mod.sinks()[h]);
        Arrays.fill(runningSum, 0, rows * lanes, 0f);
        if (mod.sinks() != null) {
            for (int r = 0; r < rows; r++) {
                runningSum[r * lanes] = 1f;
            }
        }
        Arrays.fill(o, 0, rows * dkPad, 0f);

        final int kvHead = Heads.kvHead(h, heads, kv.kvHeads);
        final int qBase = (b * n + i0) * hd + h * dk;
        // the task's queries from row `packed` on, transposed in groups of ROW_BLOCK (what Kernels.scores reads)
        final float[] qt = sc.queries;
        int packed = -1;
        final int ktBase = kv.ktBase(b, kvHead);
        final int vBase = kv.vBase(b, kvHead);
        final int keyStride = kv.keyStride;
        final int valueStride = kv.valueStride;
        final float[] kt = kv.kt;
        final float[] v = kv.v;
        final float scale = queries.scale();
        final float slope = mod.slope(h);
        final int keyStep = kernels.keyStep();
        final int maxEnd = end[rows - 1];
        // keys before the first row's window are never visited
        int first = 0;
        for (int j0 = start[0] / keyStep * keyStep; j0 < maxEnd; j0 += keyBlock) {
            while (end[first] <= j0) {
                first++; // this query sees no key from j0 on
            }
            int last = rows;
            while (last > first && start[last - 1] >= j0 + keyBlock) {
                last--; // these queries' windows begin after this block
            }
            if (packed != first) { // the groups start at the first live row
                packed = first;
                for (int g = first; g < rows; g += Kernels.ROW_BLOCK) {
                    PackedMatrix.transpose(q, qBase + g * hd, hd, Math.min(Kernels.ROW_BLOCK, rows - g), dk, qt,
                            (g - first) * dk, Kernels.ROW_BLOCK);
                }
            }
            for (int g = first; g < last; g += Kernels.ROW_BLOCK) {
                final int groupRows = Math.min(Kernels.ROW_BLOCK, last - g);
                final int width = PackedMatrix.roundUp(Math.min(end[g + groupRows - 1] - j0, keyBlock), keyStep);
                kernels.scores(qt, (g - first) * dk, groupRows, kt, ktBase + j0, keyStride, dk, width, scale, s, lds);
                int commonFrom = 0;
                int commonTo = Integer.MAX_VALUE;
                for (int rr = 0; rr < groupRows; rr++) {
                    final int r = g + rr;
                    final int visible = Math.min(end[r] - j0, keyBlock);
                    from[rr] = Math.min(Math.max(start[r] - j0, 0), Math.max(visible, 0));
                    if (visible <= from[rr]) {
                        live[rr] = 0; // nothing of this block is in the row's window
                        commonTo = 0;
                        continue;
                    }
                    final int pos0 = (int) (queries.position(b, i0 + r) - j0);
                    if (mod.scoresChanged()) {
                        kernels.softcapAlibi(s, rr * lds, width, mod.softcap(), slope, pos0);
                    }
                    // a whole block of plain scores once the row has a shift: exp against that shift,
                    // with no max and no rescale, unless a score lies more than SHIFT_LIMIT above it
                    final boolean plain = bias == null && from[rr] == 0 && visible == width
                            && runningMax[r] > Float.NEGATIVE_INFINITY;
                    if (!plain || !kernels.expAndSum(s, rr * lds, width, runningMax[r], SHIFT_LIMIT, runningSum,
                            r * lanes)) {
                        if (plain) { // the scores were overwritten by their exps: make them again
                            final float[] row = sc.row(width);
                            kernels.scores(qt, (g - first) * dk + rr, 1, kt, ktBase + j0, keyStride, dk, width,
                                    scale, row, width);
                            System.arraycopy(row, 0, s, rr * lds, width);
                            if (mod.scoresChanged()) {
                                kernels.softcapAlibi(s, rr * lds, width, mod.softcap(), slope, pos0);
                            }
                        }
                        final int biasOff = bias == null ? 0 : (i0 + r) * biasColumns + j0;
                        final float blockMax = kernels.biasMaskMax(s, rr * lds, from[rr], visible, width, bias,
                                biasOff);
                        final float newMax = Math.max(runningMax[r], blockMax);
                        if (newMax == Float.NEGATIVE_INFINITY) {
                            live[rr] = 0; // every visible score so far is -∞: nothing to add
                            commonTo = 0;
                            continue;
                        }
                        if (runningMax[r] != newMax && runningMax[r] != Float.NEGATIVE_INFINITY) {
                            final float alpha = FastExp.exp(runningMax[r] - newMax);
                            kernels.scaleInto(runningSum, r * lanes, runningSum, r * lanes, lanes, alpha);
                            kernels.scaleInto(o, r * dkPad, o, r * dkPad, dkPad, alpha);
                        }
                        kernels.expAndSum(s, rr * lds, width, newMax, Float.POSITIVE_INFINITY, runningSum, r * lanes);
                        runningMax[r] = newMax;
                    }
                    live[rr] = visible;
                    commonFrom = Math.max(commonFrom, from[rr]);
                    commonTo = Math.min(commonTo, visible);
                    if (weights != null) {
                        writeWeights(s, rr * lds, from[rr], visible, sum(runningSum, r * lanes, lanes),
                                ((b * heads + h) * n + i0 + r) * weightColumns + j0);
                    }
                }
                // values of the keys every row of the group sees at once, then each row's own edges:
                // a hidden key's value is never read, so NaN or ∞ there cannot reach the output
                boolean common = commonTo > commonFrom;
                if (common) {
                    kernels.weightedValues(s, commonFrom, lds, groupRows, commonTo - commonFrom, v,
                            vBase + (j0 + commonFrom) * valueStride, valueStride, dkPad, o, g * dkPad, dkPad);
                }
                for (int rr = 0; rr < groupRows; rr++) {
                    if (live[rr] <= from[rr]) {
                        continue;
                    }
                    int lo = from[rr];
                    int hi = common ? Math.min(live[rr], commonFrom) : live[rr];
                    addValues(s, rr * lds, lo, hi, v, vBase + j0 * valueStride, valueStride, o, (g + rr) * dkPad);
                    if (common) {
                        addValues(s, rr * lds, Math.max(lo, commonTo), live[rr], v, vBase + j0 * valueStride,
                                valueStride, o, (g + rr) * dkPad);
                    }
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            final float sum = sum(runningSum, r * lanes, lanes);
            if (lse != null) {
                lse[(b * heads + h) * n + i0 + r] = sum == 0f ? Float.NEGATIVE_INFINITY
                        : runningMax[r] + (float) Math.log(sum);
            }
            if (sum != 0f) { // 0: no visible key, heads_out stays 0; NaN (NaN attended) propagates as in the reference
                final float inv = 1f / sum;
                kernels.scaleInto(o, r * dkPad, headsOut, (b * n + i0 + r) * hd + h * dk, dk, inv);
            }
        }
    }

    /** One row's weighted values of the keys {@code [lo, hi)} of a block (nothing when empty). */
    private void addValues(float[] p, int pOff, int lo, int hi, float[] v, int vOff, int ldv, float[] o, int oOff) {
        if (hi > lo) {
            kernels.weightedValues(p, pOff + lo, 0, 1, hi - lo, v, vOff + lo * ldv, ldv, dkPad, o, oOff, dkPad);
        }
    }

    /** The softmax denominator l: the lane partial sums added in lane order. */
    private static float sum(float[] partial, int off, int lanes) {
        float sum = 0f;
        for (int i = 0; i < lanes; i++) {
            sum += partial[off + i];
        }
        return sum;
    }

    /** Weights of one query when the single key block covers every key: {@code p_j / l}. */
    private void writeWeights(float[] p, int pOff, int from, int visible, float sum, int at) {
        for (int j = from; j < visible; j++) {
            weights[at + j] = p[pOff + j] / sum;
        }
    }

    /** Per-thread buffers, grown on demand and reused across calls. */
    static final class Scratch {
        float[] scores = new float[0];
        float[] out = new float[0];
        float[] runningMax = new float[0];
        float[] runningSum = new float[0];
        float[] queries = new float[0];
        int[] end = new int[0];
        int[] start = new int[0];
        float[] row = new float[0];
        final int[] live = new int[Kernels.ROW_BLOCK];
        final int[] from = new int[Kernels.ROW_BLOCK];

        /** One row of scores made again (a block far above its row's shift). */
        float[] row(int width) {
            if (row.length < width) {
                row = new float[width];
            }
            return row;
        }

        void ensure(int scoresLength, int outLength, int rows, int lanes, int queriesLength) {
            if (queries.length < queriesLength) {
                queries = new float[queriesLength];
            }
            if (scores.length < scoresLength) {
                scores = new float[scoresLength];
            }
            if (out.length < outLength) {
                out = new float[outLength];
            }
            if (end.length < rows) {
                runningMax = new float[rows];
                end = new int[rows];
                start = new int[rows];
            }
            if (runningSum.length < rows * lanes) {
                runningSum = new float[rows * lanes];
            }
        }
    }
}
