package io.github.clattn.opencl;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOutput;
import io.github.clattn.core.RopeTable;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * The fused path of one call: validate the sizes, upload, one projection GEMM into the attention
 * layout (two for cross-attention: Q from x, K | V from the context), RoPE when the layer has it,
 * the attention ({@link FusedAttention}: flash, or split-key decode for one query per sequence),
 * W_O, read back. No score is ever stored.
 */
final class FusedRoutine {
    private final OpenClLayer layer;

    FusedRoutine(OpenClLayer layer) {
        this.layer = layer;
    }

    AttentionOutput run(AttentionInput in) {
        final FusedLayout lay = layer.layout;
        final int b = in.batch();
        final int n = in.queryLength();
        final int m = in.contextLength();
        final int d = lay.dModel();
        final long f = Sizeof.cl_float;
        final boolean hasOut = layer.weights.hasOutputProjection();
        final long keyStride = lay.keyStride(m);
        final int[] seqHost = Sequences.forward(b, n, m, in.keyValidLength());
        // query i at position i + (M - N), key j at j: one table row per position of the call
        final int first = Math.min(0, m - n);
        final RopeTable table = layer.rope == null ? null
                : RopeTable.of(layer.rope, lay.headDim(), RopeTable.range(first, m - first));
        // Every buffer size first: refuse before any allocation or enqueue.
        long xBytes = (long) b * n * d * f;
        long ctxBytes = in.isCrossAttention() ? (long) b * m * d * f : 0;
        long qBytes = lay.qBytes(b, n);
        long ktBytes = lay.ktBytes(b, m);
        long vBytes = lay.vBytes(b, m);
        long outBytes = hasOut ? (long) b * n * d * f : 0;
        long biasBytes = in.attnBias() != null ? (long) n * m * f : 0;
        long ropeBytes = table == null ? 0 : FusedAttention.tableBytes(m - first, table.half);
        long statBytes = FusedAttention.Stats.bytes(b, lay.heads(), n, m, in.returnLse(), in.returnKeyMass());
        layer.requireFits("x", xBytes);
        layer.requireFits("context", ctxBytes);
        layer.requireFits("Q", qBytes);
        layer.requireFits("K (transposed, keys padded to " + keyStride + ")", ktBytes);
        layer.requireFits("V (rows padded to " + lay.paddedHeadDim() + ")", vBytes);
        layer.requireFits("attnBias", biasBytes);
        layer.requireFitsTotal(xBytes + ctxBytes + 2 * qBytes + ktBytes + vBytes + outBytes + biasBytes + ropeBytes
                + statBytes);

        Workspace ws = layer.workspace;
        cl_mem q = ws.buffer("q", qBytes);
        cl_mem kt = ws.buffer("kt", ktBytes, layer.fused, layer.queue);
        cl_mem v = ws.buffer("v", vBytes, layer.fused, layer.queue);
        cl_mem headsOut = ws.buffer("heads_out", qBytes);
        cl_mem out = hasOut ? ws.buffer("out", outBytes) : null;
        FusedAttention.Stats stats = FusedAttention.Stats.of(ws, b, lay.heads(), n, m, in.returnLse(),
                in.returnKeyMass());
        OpenClLayer.Inputs inputs = layer.uploadInputs(in, seqHost);
        cl_mem x = inputs.x();
        cl_mem context = inputs.context();
        cl_mem bias = inputs.bias();
        cl_mem seq = inputs.seq();

        FusedKernels k = layer.fused;
        int qw = lay.qWidth();
        int kvw = lay.kvWidth();
        int h = lay.heads();
        int hkv = lay.kvHeads();
        // uploads: all of them before the first kernel, so the host never waits for one
        cl_mem[] cs = table == null ? null : FusedAttention.upload(ws, layer.queue, table);
        try (Stages stages = new Stages(layer.queue)) {
            if (in.isCrossAttention()) {
                stages.add("projection", k.gemm(layer.queue, new FusedKernels.GemmCall(x, b * n, d, layer.wQkv, 0, qw,
                        new FusedKernels.Attention(q, kt, v, 0, n, n, keyStride, h, hkv, seq, false))));
                stages.add("projection", k.gemm(layer.queue, new FusedKernels.GemmCall(context, b * m, d, layer.wQkv, qw,
                        2 * kvw, new FusedKernels.Attention(q, kt, v, qw, m, n, keyStride, h, hkv, seq, false))));
            } else {
                stages.add("projection", k.gemm(layer.queue, new FusedKernels.GemmCall(x, b * n, d, layer.wQkv, 0,
                        qw + 2 * kvw, new FusedKernels.Attention(q, kt, v, 0, n, n, keyStride, h, hkv, seq, false))));
            }
            if (table != null) {
                stages.add("projection", k.rope.rotate(layer.queue, q, RopeKernel.Strides.queries(h, n, lay.headDim()), b,
                        h, n, table, cs[0], cs[1], 0, m - n - first, seq, false));
                stages.add("projection", k.rope.rotate(layer.queue, kt,
                        RopeKernel.Strides.transposedKeys(hkv, lay.headDim(), keyStride), b, hkv, m, table, cs[0], cs[1],
                        0, -first, seq, false));
            }
            FusedAttention.attend(k, ws, layer.queue, stages, new FusedKernels.FlashCall(q, kt, v, bias,
                    in.attnBias() != null, m, seq, headsOut, b, n, keyStride, h, hkv, layer.scale, layer.causal,
                    layer.mods, null), Sequences.maxKeys(seqHost), stats, m);
            if (out != null) {
                stages.add("output_projection", k.gemm(layer.queue, new FusedKernels.GemmCall(headsOut, b * n, qw,
                        layer.wO, 0, d, new FusedKernels.Plain(out))));
            }
            return layer.readResults(in, headsOut, out, null, stats, stages, layer.fusedPath);
        }
    }
}
