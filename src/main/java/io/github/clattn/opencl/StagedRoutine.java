package io.github.clattn.opencl;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOutput;
import io.github.clattn.core.RopeTable;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * The staged path of one call, for calls that ask for the weights: {@code project} ×3 →
 * {@code scores} → {@code softmax_rows} → {@code weight_values} (→ {@code project} for W_O),
 * materialising the {@code [B,H,N,M]} probabilities.
 */
final class StagedRoutine {
    private final OpenClLayer layer;

    StagedRoutine(OpenClLayer layer) {
        this.layer = layer;
    }

    AttentionOutput run(AttentionInput in) {
        final FusedLayout lay = layer.layout;
        final int b = in.batch();
        final int n = in.queryLength();
        final int m = in.contextLength();
        final int d = lay.dModel();
        final int qw = lay.qWidth();
        final int kvw = lay.kvWidth();
        final long f = Sizeof.cl_float;
        final boolean hasOut = layer.weights.hasOutputProjection();
        // Every buffer size first: refuse before any allocation or enqueue.
        long xBytes = (long) b * n * d * f;
        long ctxBytes = in.isCrossAttention() ? (long) b * m * d * f : 0;
        long qBytes = (long) b * n * qw * f;
        long kvBytes = (long) b * m * kvw * f;
        long scoreBytes = (long) b * lay.heads() * n * m * f;
        long outBytes = hasOut ? (long) b * n * d * f : 0;
        long biasBytes = in.attnBias() != null ? (long) n * m * f : 0;
        final int[] seqHost = Sequences.forward(b, n, m, in.keyValidLength());
        final int first = Math.min(0, m - n);
        final RopeTable table = layer.rope == null ? null
                : RopeTable.of(layer.rope, lay.headDim(), RopeTable.range(first, m - first));
        long ropeBytes = table == null ? 0 : FusedAttention.tableBytes(m - first, table.half);
        long lseBytes = FusedAttention.Stats.bytes(b, lay.heads(), n, m, in.returnLse(), false);
        layer.requireFits("x", xBytes);
        layer.requireFits("context", ctxBytes);
        layer.requireFits("Q", qBytes);
        layer.requireFits("K", kvBytes);
        layer.requireFits("scores [B,H,N,M]", scoreBytes);
        layer.requireFits("attnBias", biasBytes);
        layer.requireFitsTotal(xBytes + ctxBytes + qBytes * 2 + kvBytes * 2 + scoreBytes + outBytes + biasBytes
                + ropeBytes + lseBytes);
        StagedKernels k = layer.staged();

        Workspace ws = layer.workspace;
        cl_mem q = ws.buffer("q", qBytes);
        cl_mem kBuf = ws.buffer("k", kvBytes);
        cl_mem v = ws.buffer("v_staged", kvBytes);
        cl_mem s = ws.buffer("scores", scoreBytes);
        cl_mem headsOut = ws.buffer("heads_out", qBytes);
        cl_mem out = hasOut ? ws.buffer("out", outBytes) : null;
        // the key mass comes from the weights read back (readResults)
        FusedAttention.Stats stats = FusedAttention.Stats.of(ws, b, lay.heads(), n, m, in.returnLse(), false);
        OpenClLayer.Inputs inputs = layer.uploadInputs(in, seqHost);
        cl_mem x = inputs.x();
        cl_mem context = inputs.context();
        cl_mem bias = inputs.bias();
        cl_mem seq = inputs.seq();

        StagedKernels.Shape shape = new StagedKernels.Shape(b, n, m, lay.heads(), lay.kvHeads(), lay.headDim(),
                layer.scale, layer.causal, bias, in.attnBias() != null, seq, layer.mods, stats.lse());
        try (Stages stages = new Stages(layer.queue)) {
            stages.add("projection", k.project(layer.queue, x, b * n, d, layer.wQkv, 0, qw, q));
            stages.add("projection", k.project(layer.queue, context, b * m, d, layer.wQkv, qw, kvw, kBuf));
            stages.add("projection", k.project(layer.queue, context, b * m, d, layer.wQkv, qw + kvw, kvw, v));
            if (table != null) {
                cl_mem[] cs = FusedAttention.upload(ws, layer.queue, table);
                stages.add("projection", k.rope.rotate(layer.queue, q, RopeKernel.Strides.rowMajor(lay.heads(), n,
                        lay.headDim()), b, lay.heads(), n, table, cs[0], cs[1], 0, m - n - first, seq, false));
                stages.add("projection", k.rope.rotate(layer.queue, kBuf, RopeKernel.Strides.rowMajor(lay.kvHeads(), m,
                        lay.headDim()), b, lay.kvHeads(), m, table, cs[0], cs[1], 0, -first, seq, false));
            }
            stages.add("scores", k.scores(layer.queue, q, kBuf, s, shape));
            stages.add("softmax", k.softmax(layer.queue, s, shape));
            stages.add("weighting", k.weighting(layer.queue, s, v, headsOut, shape));
            if (out != null) {
                stages.add("output_projection", k.project(layer.queue, headsOut, b * n, qw, layer.wO, 0, d, out));
            }
            return layer.readResults(in, headsOut, out, s, stats, stages, "opencl-staged");
        }
    }
}
