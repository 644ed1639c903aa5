package io.github.clattn.cpu;

import io.github.clattn.core.SystemProperties;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The attention pass of a call with one query per sequence (a decode step): flash-decoding. Few
 * (batch, head) pairs would leave cores idle, so the visible keys are cut into splits processed in
 * parallel, and the splits' partial results are combined through their log-sum-exp. A task is one
 * (sequence b, K/V head g, split): the {@code G = H / Hkv} query heads of the group share every
 * key and value it reads, as the rows of one register block.
 *
 * <pre>
 *   the sequence's query sees the keys [start_b, end_b) (key length, causal, window)
 *   split s covers keys [start_b + s·S, min(start_b + (s+1)·S, end_b)),  S = ceil((end_b - start_b) / splits)
 *       rounded to the key step: keys before a window are never visited
 *   per split and head (online softmax over its key blocks, as AttentionPass, with softcap and ALiBi):
 *       m_s = max score,  l_s = Σ exp(s_j - m_s),  o_s = Σ exp(s_j - m_s)·v_j
 *   combine, with the head's sink when there is one:
 *       m = max(max_s m_s, sink),  l = Σ_s l_s·exp(m_s - m) + exp(sink - m),  heads_out = Σ_s o_s·exp(m_s - m) / l
 *       (0 when l = 0),  lse = m + log l
 * </pre>
 *
 * The split count depends only on the shape ({@link #splits}: the keys and the number of
 * (sequence, K/V head) pairs), never on the thread count, so results are bitwise the same for any
 * pool size.
 */
final class DecodePass {
    /** Fewest keys per split: below this a split's fixed costs outweigh the parallelism. */
    static final int MIN_SPLIT_KEYS = 256;
    /** Most splits of one sequence. */
    static final int MAX_SPLITS = 32;
    /**
     * Tasks a step aims at: enough for 64 cores. No more: a split reads each of the dk channel rows
     * of Kᵀ (one 4 KiB page apart at M ≥ 1024) over its keys, so short splits cost a TLB miss per
     * channel row per few hundred bytes; with 8192 cached keys, 32 splits of 256 keys made the
     * attention of a Llama-3-8B step 2-3 times slower than 8 splits of 1024.
     */
    static final int TARGET_TASKS = 64;
    /**
     * System property overriding {@link #TARGET_TASKS} (read when a decode pass is made): more for a
     * machine with more than 64 cores, fewer to read longer runs of each channel row. Results are
     * bitwise the same for a given value, on any pool size.
     */
    static final String TASKS_PROPERTY = "clattn.decode.tasks";
    private static final Logger LOG = LoggerFactory.getLogger(DecodePass.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    /** The calling thread's partial results, reused by its next steps (a step allocates about its output). */
    private static final ThreadLocal<Partials> PARTIALS = ThreadLocal.withInitial(Partials::new);

    private final Kernels kernels;
    private final AttentionPass.Queries queries;
    private final KeyValues kv;
    private final int group;
    private final int dk;
    private final int dkPad;
    private final int splits;
    private final float[] headsOut;
    private final float[] lse;
    private final int[] begin;
    private final float[] partialMax;
    private final float[] partialSum;
    private final float[] partialOut;
    private final int[] end;

    /** {@code queries} must have one query per sequence ({@code n == 1}). */
    DecodePass(Kernels kernels, AttentionPass.Queries queries, KeyValues kv, float[] headsOut, float[] lse) {
        if (queries.n() != 1) {
            throw new IllegalArgumentException("queries: a decode pass takes one query per sequence, got " + queries.n());
        }
        this.kernels = kernels;
        this.queries = queries;
        this.kv = kv;
        this.group = queries.heads() / kv.kvHeads;
        this.dk = kv.dk;
        this.dkPad = PackedMatrix.roundUp(dk, kernels.lanes());
        this.headsOut = headsOut;
        this.lse = lse;
        this.end = new int[queries.batch()];
        this.begin = new int[queries.batch()];
        int longest = 0;
        for (int b = 0; b < end.length; b++) {
            begin[b] = queries.firstKey(b, 0);
            end[b] = queries.visibleKeys(b, 0);
            longest = Math.max(longest, end[b] - begin[b]);
        }
        this.splits = splits(longest, queries.batch() * kv.kvHeads, targetTasks());
        Partials kept = PARTIALS.get().ensure(queries.batch() * queries.heads() * splits, dkPad);
        this.partialMax = kept.max;
        this.partialSum = kept.sum;
        this.partialOut = kept.out;
    }

    /**
     * Per calling thread: the splits' maxima, sums and outputs of its current step. Need no
     * clearing: a task sets the maximum and sum of each of its pairs, and {@link #combine} reads the
     * output of a pair only when its maximum is finite, which the task then wrote.
     */
    private static final class Partials {
        float[] max = new float[0];
        float[] sum = new float[0];
        float[] out = new float[0];

        Partials ensure(int pairs, int dkPad) {
            if (max.length < pairs) {
                max = new float[pairs];
                sum = new float[pairs];
            }
            if (out.length < pairs * dkPad) {
                out = new float[pairs * dkPad];
            }
            return this;
        }
    }

    /**
     * Splits of a sequence with {@code keys} visible keys, in a step of {@code pairs} (sequence, K/V
     * head) pairs: as few as give {@value #TARGET_TASKS} tasks, with at least {@value #MIN_SPLIT_KEYS}
     * keys each, at most {@value #MAX_SPLITS}.
     */
    static int splits(int keys, int pairs) {
        return splits(keys, pairs, TARGET_TASKS);
    }

    /** The same with {@code targetTasks} in place of {@value #TARGET_TASKS}. */
    static int splits(int keys, int pairs, int targetTasks) {
        int wanted = PackedMatrix.ceilDiv(targetTasks, Math.max(1, pairs));
        return Math.max(1, Math.min(Math.min(MAX_SPLITS, wanted), keys / MIN_SPLIT_KEYS));
    }

    /** {@value #TARGET_TASKS}, or a positive {@code -Dclattn.decode.tasks} (anything else: one WARN, the default). */
    static int targetTasks() {
        return SystemProperties.intProperty(TASKS_PROPERTY, TARGET_TASKS, 1, value -> {
            if (WARNED.compareAndSet(false, true)) {
                LOG.warn("-D{}={} is not a positive integer; using {} decode tasks", TASKS_PROPERTY, value,
                        TARGET_TASKS);
            }
        });
    }

    int tasks() {
        return queries.batch() * kv.kvHeads * splits;
    }

    long workPerTask() {
        return 2L * group * dk * Math.max(1, queries.maxKeys() / splits);
    }


    /** The keys of split {@code s} of a sequence that sees {@code [first, end)}: [from, to). */
    private int[] range(int s, int first, int end) {
        int step = kernels.keyStep();
        int per = PackedMatrix.roundUp(PackedMatrix.ceilDiv(Math.max(end - first, 1), splits), step);
        return new int[] {Math.min(end, first + s * per), Math.min(end, first + (s + 1) * per)};
    }

    /** One (sequence, K/V head, split): the group's heads over the split's keys. */
    void run(int task) {
        final int s = task % splits;
        final int g = (task / splits) % kv.kvHeads;
        final int b = task / splits / kv.kvHeads;
        final int heads = queries.heads();
        final int hd = heads * dk;
        final int lanes = kernels.lanes();
        final int[] keys = range(s, begin[b], end[b]);
        final AttentionPass.Modifiers mod = queries.modifiers();
        final int pair0 = (b * heads + g * group) * splits + s; // (b, first head of the group, s)
        for (int r = 0; r < group; r++) {
            partialMax[pair0 + r * splits] = Float.NEGATIVE_INFINITY;
            partialSum[pair0 + r * splits] = 0f;
        }
        if (keys[0] >= keys[1]) {
            return;
        }
        final int keyBlock = AttentionPass.KEY_BLOCK;
        final int blockRows = Kernels.ROW_BLOCK;
        // this thread's buffers; longer than asked when it ran larger blocks, so only their heads are used
        AttentionPass.Scratch sc = AttentionPass.scratch();
        sc.ensure(blockRows * keyBlock, blockRows * dkPad, blockRows, lanes, dk * blockRows);
        final float[] scores = sc.scores;
        final float[] o = sc.out;
        final float[] runningSum = sc.runningSum;
        final float[] runningMax = sc.runningMax;
        final float[] qt = sc.queries;
        final int ktBase = kv.ktBase(b, g);
        final int vBase = kv.vBase(b, g);
        for (int r0 = 0; r0 < group; r0 += blockRows) {
            final int rows = Math.min(blockRows, group - r0);
            final int qOff = b * hd + (g * group + r0) * dk; // heads of one group are dk apart
            PackedMatrix.transpose(queries.q(), qOff, dk, rows, dk, qt, 0, blockRows);
            Arrays.fill(o, 0, blockRows * dkPad, 0f);
            Arrays.fill(runningSum, 0, blockRows * lanes, 0f);
            Arrays.fill(runningMax, 0, blockRows, Float.NEGATIVE_INFINITY);
            for (int j0 = keys[0]; j0 < keys[1]; j0 += keyBlock) {
                final int visible = Math.min(keyBlock, keys[1] - j0);
                final int width = PackedMatrix.roundUp(visible, kernels.keyStep());
                kernels.scores(qt, 0, rows, kv.kt, ktBase + j0, kv.keyStride, dk, width,
                        queries.scale(), scores, keyBlock);
                for (int r = 0; r < rows; r++) {
                    if (mod.scoresChanged()) {
                        kernels.softcapAlibi(scores, r * keyBlock, width, mod.softcap(),
                                mod.slope(g * group + r0 + r), (int) (queries.position(b, 0) - j0));
                    }
                    float blockMax = kernels.biasMaskMax(scores, r * keyBlock, 0, visible, width, null, 0);
                    float newMax = Math.max(runningMax[r], blockMax);
                    if (newMax == Float.NEGATIVE_INFINITY) {
                        Arrays.fill(scores, r * keyBlock, r * keyBlock + width, 0f);
                        continue;
                    }
                    if (runningMax[r] != newMax && runningMax[r] != Float.NEGATIVE_INFINITY) {
                        float alpha = FastExp.exp(runningMax[r] - newMax);
                        kernels.scaleInto(runningSum, r * lanes, runningSum, r * lanes, lanes, alpha);
                        kernels.scaleInto(o, r * dkPad, o, r * dkPad, dkPad, alpha);
                    }
                    kernels.expAndSum(scores, r * keyBlock, width, newMax, Float.POSITIVE_INFINITY, runningSum,
                            r * lanes);
                    runningMax[r] = newMax;
                }
                kernels.weightedValues(scores, 0, keyBlock, rows, visible, kv.v, vBase + j0 * kv.valueStride,
                        kv.valueStride, dkPad, o, 0, dkPad);
            }
            for (int r = 0; r < rows; r++) {
                int pair = pair0 + (r0 + r) * splits;
                float sum = 0f;
                for (int l = 0; l < lanes; l++) {
                    sum += runningSum[r * lanes + l];
                }
                partialMax[pair] = runningMax[r];
                partialSum[pair] = sum;
                System.arraycopy(o, r * dkPad, partialOut, pair * dkPad, dkPad);
            }
        }
    }

    /** Combines the splits of every (sequence, head) into heads_out [B, H*dk] (and lse [B, H]). */
    void combine() {
        final int heads = queries.heads();
        final float[] sinks = queries.modifiers().sinks();
        final float[] acc = new float[dk];
        for (int b = 0; b < queries.batch(); b++) {
            for (int h = 0; h < heads; h++) {
                int pair0 = (b * heads + h) * splits;
                float m = sinks == null ? Float.NEGATIVE_INFINITY : sinks[h];
                for (int s = 0; s < splits; s++) {
                    m = Math.max(m, partialMax[pair0 + s]);
                }
                if (m == Float.NEGATIVE_INFINITY) {
                    if (lse != null) {
                        lse[b * heads + h] = Float.NEGATIVE_INFINITY;
                    }
                    continue; // no visible key: zeros
                }
                float l = sinks == null ? 0f : FastExp.exp(sinks[h] - m);
                int at = (b * heads + h) * dk;
                Arrays.fill(acc, 0f);
                for (int s = 0; s < splits; s++) {
                    float ms = partialMax[pair0 + s];
                    if (ms == Float.NEGATIVE_INFINITY) {
                        continue;
                    }
                    float w = FastExp.exp(ms - m);
                    l += partialSum[pair0 + s] * w;
                    int o0 = (pair0 + s) * dkPad;
                    for (int c = 0; c < dk; c++) {
                        acc[c] += partialOut[o0 + c] * w;
                    }
                }
                if (lse != null) {
                    lse[b * heads + h] = l == 0f ? Float.NEGATIVE_INFINITY : m + (float) Math.log(l);
                }
                if (l != 0f) { // NaN (NaN attended) propagates as in the reference
                    kernels.scaleInto(acc, 0, headsOut, at, dk, 1f / l);
                }
            }
        }
    }
}
