package io.github.clattn.cpu;

import io.github.clattn.core.Heads;

/**
 * The second pass over the keys that gives {@code key_mass [B, H, M]}, the attention each key
 * received summed over the query rows, without an N×M matrix: once every row's log-sum-exp is
 * known ({@link AttentionPass}, {@link DecodePass}), each task takes one (batch, head, key block),
 * recomputes the scores of the queries that see any of its keys (the same modifiers and masks as
 * the first pass, as a FlashAttention backward pass does) and adds {@code exp(s - lse_i)} to its
 * keys, queries in ascending order. About one more attention pass, without the values.
 */
final class KeyMassPass {
    private final Kernels kernels;
    private final AttentionPass.Queries queries;
    private final KeyValues kv;
    private final float[] bias;
    private final int biasColumns;
    private final float[] lse;
    private final float[] keyMass;
    private final int keys;
    private final int blocks;
    private final int[] start;
    private final int[] end;

    KeyMassPass(Kernels kernels, AttentionPass.Queries queries, KeyValues kv, float[] bias, int biasColumns,
                float[] lse, float[] keyMass, int keys) {
        this.kernels = kernels;
        this.queries = queries;
        this.kv = kv;
        this.bias = bias;
        this.biasColumns = biasColumns;
        this.lse = lse;
        this.keyMass = keyMass;
        this.keys = keys;
        this.blocks = PackedMatrix.ceilDiv(Math.max(keys, 1), AttentionPass.KEY_BLOCK);
        int rows = queries.batch() * queries.n();
        this.start = new int[rows];
        this.end = new int[rows];
        for (int b = 0; b < queries.batch(); b++) {
            for (int i = 0; i < queries.n(); i++) {
                start[b * queries.n() + i] = queries.firstKey(b, i);
                end[b * queries.n() + i] = queries.visibleKeys(b, i);
            }
        }
    }

    int tasks() {
        return queries.batch() * queries.heads() * blocks;
    }

    long workPerTask() {
        return (long) queries.n() * AttentionPass.KEY_BLOCK * kv.dk;
    }

    void run(int task) {
        final int block = task % blocks;
        final int h = (task / blocks) % queries.heads();
        final int b = task / blocks / queries.heads();
        final int n = queries.n();
        final int heads = queries.heads();
        final int dk = kv.dk;
        final int hd = heads * dk;
        final int kb = AttentionPass.KEY_BLOCK;
        final int j0 = block * kb;
        final int j1 = Math.min(keys, j0 + kb);
        final int step = kernels.keyStep();
        final int width = PackedMatrix.roundUp(j1 - j0, step);
        final int kvHead = Heads.kvHead(h, heads, kv.kvHeads);
        final AttentionPass.Modifiers mod = queries.modifiers();
        // this thread's buffers (longer than asked when it ran larger blocks): scores, queries, the
        // block's key mass in the output rows' buffer, the exp sums in the running sums'
        AttentionPass.Scratch sc = AttentionPass.scratch();
        sc.ensure(Kernels.ROW_BLOCK * width, j1 - j0, 1, kernels.lanes(), dk * Kernels.ROW_BLOCK);
        final float[] s = sc.scores;
        final float[] qt = sc.queries;
        final float[] acc = sc.out;
        final float[] sums = sc.runningSum;
        java.util.Arrays.fill(acc, 0, j1 - j0, 0f);
        java.util.Arrays.fill(sums, 0, kernels.lanes(), 0f); // a sink: the sums of exp(s - lse) are not needed
        // the queries that see any key of [j0, j1) form one range: start and end grow with the row
        int lo = 0;
        while (lo < n && end[b * n + lo] <= j0) {
            lo++;
        }
        int hi = lo;
        while (hi < n && start[b * n + hi] < j1) {
            hi++;
        }
        for (int g = lo; g < hi; g += Kernels.ROW_BLOCK) {
            int rows = Math.min(Kernels.ROW_BLOCK, hi - g);
            PackedMatrix.transpose(queries.q(), (b * n + g) * hd + h * dk, hd, rows, dk, qt, 0, Kernels.ROW_BLOCK);
            kernels.scores(qt, 0, rows, kv.kt, kv.ktBase(b, kvHead) + j0,
                    kv.keyStride, dk, width, queries.scale(), s, width);
            for (int rr = 0; rr < rows; rr++) {
                int i = g + rr;
                float l = lse[(b * heads + h) * n + i];
                int from = Math.max(start[b * n + i] - j0, 0);
                int to = Math.min(end[b * n + i], j1) - j0;
                if (to <= from || l == Float.NEGATIVE_INFINITY) {
                    continue;
                }
                if (mod.scoresChanged()) {
                    kernels.softcapAlibi(s, rr * width, width, mod.softcap(), mod.slope(h),
                            (int) (queries.position(b, i) - j0));
                }
                kernels.biasMaskMax(s, rr * width, from, to, width, bias, bias == null ? 0 : i * biasColumns + j0);
                kernels.expAndSum(s, rr * width, width, l, Float.POSITIVE_INFINITY, sums, 0);
                for (int j = from; j < to; j++) {
                    acc[j] += s[rr * width + j];
                }
            }
        }
        System.arraycopy(acc, 0, keyMass, (b * heads + h) * keys + j0, j1 - j0);
    }
}
