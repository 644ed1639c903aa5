package io.github.clattn.cpu;

import io.github.clattn.AttentionInput;
import io.github.clattn.core.Heads;
import io.github.clattn.core.Shapes;
import java.util.Arrays;

/**
 * Pass 2 of one forward call: for each task (batch b, head h, query block) the fused loop of
 * flash attention over key blocks, with no {@code N×M} buffer.
 *
 * <pre>
 *   Q [B*N, H*dk]   Kᵀ [B, Hkv*dk, keyStride]   V [B, capacity, valueStride] (+ slack)   heads_out [B*N, H*dk]
 *   query head h reads K/V head g = kvHead(h) (Heads): Kᵀ rows g*dk.., V columns g*dk..; keys j < M of capacity
 *   visible keys of query i: the prefix [0, end_i),
 *       end_i = min(M, i + M - N + 1 if causal, keyValidLength[b])   (non-decreasing in i)
 *   per key block [j0, j0+KB), per group of up to 8 queries:
 *       s = scale·q·kᵀ + bias;  s_j = -∞ for j >= end_i                     (scores, biasMaskMax)
 *       m' = max(m, max_j s_j);  p_j = exp(s_j - m');  α = exp(m - m')       (expAndSum)
 *       l = α·l + Σ_j p_j;  o = α·o + Σ_{j < end_i} p_j·v_j;  m = m'          (scale, weightedValues)
 *       (l is kept as one partial sum per vector lane and added up once at the end)
 *   heads_out_i = o / l, or 0 when l = 0 (no visible key, or all scores -∞)
 * </pre>
 *
 * Hidden keys are skipped by range: their values are never read and their scores are replaced,
 * so NaN or ∞ in a hidden key or value cannot reach the output. When weights are requested the
 * key block spans every key, so {@code p / l} is final after one block and is written out.
 */
final class AttentionPass {
    /** Keys per block of the online softmax; a multiple of every {@link Kernels#keyStep()}. */
    static final int KEY_BLOCK = 256;
    /** Queries per task, unless the call has too few tasks to keep the cores busy. */
    static final int QUERY_BLOCK = 64;
    private static final int MIN_QUERY_BLOCK = 16;
    private static final int MIN_TASKS = 8;

    /** Score rows longer than this (weights of very long contexts) are not kept per thread. */
    private static final int MAX_KEPT_SCORES = 1 << 20;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final Kernels kernels;
    private final int batch;
    private final int n;
    private final int m;
    private final int heads;
    private final int kvHeads;
    private final int capacity;
    private final int dk;
    private final int hd;
    private final int dkPad;
    private final int keyStride;
    private final int valueStride;
    private final int keyBlock;
    private final int queryBlock;
    private final int queryBlocks;
    private final float scale;
    private final boolean causal;
    private final float[] q;
    private final float[] kt;
    private final float[] v;
    private final int[] validLength;
    private final float[] bias;
    private final float[] headsOut;
    private final float[] weights;

    /** Shapes as in the class comment; {@code weights} is null unless requested. */
    AttentionPass(Kernels kernels, int batch, int n, int m, int heads, int kvHeads, int dk, float scale, boolean causal,
                  float[] q, float[] kt, int keyStride, float[] v, int valueStride, int capacity, int[] validLength,
                  float[] bias, float[] headsOut, float[] weights) {
        this.kernels = kernels;
        this.batch = batch;
        this.n = n;
        this.m = m;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.capacity = capacity;
        this.dk = dk;
        this.hd = heads * dk;
        this.dkPad = PackedMatrix.roundUp(dk, kernels.lanes());
        this.keyStride = keyStride;
        this.valueStride = valueStride;
        this.keyBlock = weights != null ? PackedMatrix.roundUp(m, kernels.keyStep()) : KEY_BLOCK;
        Shapes.arrayLength("scores", "[" + Kernels.ROW_BLOCK + " queries, M=" + m + " keys] (returned weights)",
                Kernels.ROW_BLOCK, keyBlock);
        int qb = QUERY_BLOCK;
        while (qb > MIN_QUERY_BLOCK && (long) batch * heads * PackedMatrix.ceilDiv(n, qb) < MIN_TASKS) {
            qb /= 2;
        }
        this.queryBlock = qb;
        this.queryBlocks = PackedMatrix.ceilDiv(n, qb);
        this.scale = scale;
        this.causal = causal;
        this.q = q;
        this.kt = kt;
        this.v = v;
        this.validLength = validLength;
        this.bias = bias;
        this.headsOut = headsOut;
        this.weights = weights;
    }

    int tasks() {
        return batch * heads * queryBlocks;
    }

    /** Multiply-adds of one task, about: scores and weighted values over every key. */
    long workPerTask() {
        return 2L * queryBlock * m * dk;
    }

    /** The number of keys query {@code i} of batch row {@code b} sees: the prefix {@code [0, end)}. */
    private int visibleKeys(int b, int i) {
        return AttentionInput.visibleKeys(n, m, causal, validLength, b, i);
    }

    /** Runs one task; tasks of the last query blocks (the most keys under a causal mask) come first. */
    void run(int task) {
        final int bh = batch * heads;
        final int block = queryBlocks - 1 - task / bh;
        final int b = (task % bh) / heads;
        final int h = task % heads;
        final int i0 = block * queryBlock;
        final int rows = Math.min(queryBlock, n - i0);
        final int lds = keyBlock;

        Scratch sc = SCRATCH.get();
        final int scoresLength = Kernels.ROW_BLOCK * lds;
        sc.ensure(scoresLength <= MAX_KEPT_SCORES ? scoresLength : 0, rows * dkPad, rows, kernels.lanes());
        final float[] s = scoresLength <= MAX_KEPT_SCORES ? sc.scores : new float[scoresLength];
        final float[] o = sc.out;
        final float[] runningMax = sc.runningMax;
        final float[] runningSum = sc.runningSum; // lanes() partial sums per query
        final int lanes = kernels.lanes();
        final int[] end = sc.end;
        final int[] live = sc.live;
        for (int r = 0; r < rows; r++) {
            end[r] = visibleKeys(b, i0 + r);
        }
        Arrays.fill(runningMax, 0, rows, Float.NEGATIVE_INFINITY);
        Arrays.fill(runningSum, 0, rows * lanes, 0f);
        Arrays.fill(o, 0, rows * dkPad, 0f);

        final int kvHead = Heads.kvHead(h, heads, kvHeads);
        final int qBase = (b * n + i0) * hd + h * dk;
        final int ktBase = (b * kvHeads * dk + kvHead * dk) * keyStride;
        final int vBase = b * capacity * valueStride + kvHead * dk;
        final int keyStep = kernels.keyStep();
        final int maxEnd = end[rows - 1];
        int first = 0;
        for (int j0 = 0; j0 < maxEnd; j0 += keyBlock) {
            while (end[first] <= j0) {
                first++; // this query sees no key from j0 on
            }
            for (int g = first; g < rows; g += Kernels.ROW_BLOCK) {
                final int groupRows = Math.min(Kernels.ROW_BLOCK, rows - g);
                final int width = PackedMatrix.roundUp(Math.min(end[g + groupRows - 1] - j0, keyBlock), keyStep);
                kernels.scores(q, qBase + g * hd, hd, groupRows, kt, ktBase + j0, keyStride, dk, width, scale, s, lds);
                int common = Integer.MAX_VALUE;
                for (int rr = 0; rr < groupRows; rr++) {
                    final int r = g + rr;
                    final int visible = Math.min(end[r] - j0, keyBlock);
                    final int biasOff = bias == null ? 0 : (i0 + r) * m + j0;
                    final float blockMax = kernels.biasMaskMax(s, rr * lds, visible, width, bias, biasOff);
                    final float newMax = Math.max(runningMax[r], blockMax);
                    if (newMax == Float.NEGATIVE_INFINITY) {
                        live[rr] = 0; // every visible score so far is -∞: nothing to add
                        common = 0;
                        continue;
                    }
                    if (runningMax[r] != newMax && runningMax[r] != Float.NEGATIVE_INFINITY) {
                        final float alpha = FastExp.exp(runningMax[r] - newMax);
                        kernels.scale(runningSum, r * lanes, lanes, alpha);
                        kernels.scale(o, r * dkPad, dkPad, alpha);
                    }
                    kernels.expAndSum(s, rr * lds, width, newMax, runningSum, r * lanes);
                    runningMax[r] = newMax;
                    live[rr] = visible;
                    common = Math.min(common, visible);
                    if (weights != null) {
                        writeWeights(s, rr * lds, visible, sum(runningSum, r * lanes, lanes),
                                ((b * heads + h) * n + i0 + r) * m);
                    }
                }
                int done = 0;
                if (common > 0) {
                    kernels.weightedValues(s, 0, lds, groupRows, common, v, vBase + j0 * valueStride, valueStride, dkPad,
                            o, g * dkPad, dkPad);
                    done = common;
                }
                for (int rr = 0; rr < groupRows; rr++) {
                    if (live[rr] > done) {
                        kernels.weightedValues(s, rr * lds + done, lds, 1, live[rr] - done, v,
                                vBase + (j0 + done) * valueStride, valueStride, dkPad, o, (g + rr) * dkPad, dkPad);
                    }
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            final float sum = sum(runningSum, r * lanes, lanes);
            if (sum != 0f) { // 0: no visible key, heads_out stays 0; NaN (NaN attended) propagates as in the reference
                final float inv = 1f / sum;
                final int at = (b * n + i0 + r) * hd + h * dk;
                for (int c = 0; c < dk; c++) {
                    headsOut[at + c] = o[r * dkPad + c] * inv;
                }
            }
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
    private void writeWeights(float[] p, int pOff, int visible, float sum, int at) {
        for (int j = 0; j < visible; j++) {
            weights[at + j] = p[pOff + j] / sum;
        }
    }

    /** Per-thread buffers, grown on demand and reused across calls. */
    private static final class Scratch {
        float[] scores = new float[0];
        float[] out = new float[0];
        float[] runningMax = new float[0];
        float[] runningSum = new float[0];
        int[] end = new int[0];
        final int[] live = new int[Kernels.ROW_BLOCK];

        void ensure(int scoresLength, int outLength, int rows, int lanes) {
            if (scores.length < scoresLength) {
                scores = new float[scoresLength];
            }
            if (out.length < outLength) {
                out = new float[outLength];
            }
            if (end.length < rows) {
                runningMax = new float[rows];
                end = new int[rows];
            }
            if (runningSum.length < rows * lanes) {
                runningSum = new float[rows * lanes];
            }
        }
    }
}
