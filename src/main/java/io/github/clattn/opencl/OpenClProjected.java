package io.github.clattn.opencl;

import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.Device;
import io.github.clattn.ProjectedInput;
import io.github.clattn.Rope;
import io.github.clattn.core.CacheBackend;
import io.github.clattn.core.ProjectedBackend;
import io.github.clattn.core.RopeTable;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * Attention on the caller's Q, K and V on an OpenCL device. Fused unless the call asks for the
 * weights: the tensors are scattered into the attention layout ({@code scatter_rows}), rotated when
 * the options have RoPE, and attended ({@link FusedAttention}); with the weights, the staged
 * kernels run on them as they are (row-major is the staged path's layout).
 */
final class OpenClProjected extends DeviceSession implements ProjectedBackend {
    private final KernelVariant variant;
    private final KernelParams params;
    private final FusedLayout layout;
    private final float scale;
    private final boolean causal;
    private final Rope rope;
    private final AttentionOptions options;
    private StagedKernels staged;
    private boolean closed;

    OpenClProjected(Device device, KernelVariant variant, int heads, int kvHeads, int headDim, AttentionOptions options) {
        super(device);
        this.variant = variant;
        this.params = Tuner.paramsFor(device, variant);
        this.layout = FusedLayout.projected(heads, kvHeads, headDim);
        this.scale = options.effectiveScale(headDim);
        this.causal = options.causal();
        this.rope = options.validateFor(heads, headDim).rope();
        this.options = options;
        try {
            start(variant, params, layout, options);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    @Override
    public synchronized AttentionOutput forward(ProjectedInput in) {
        if (closed) {
            throw new IllegalStateException("the OpenCL attention is closed");
        }
        final int b = in.batch();
        final int n = in.queryLength();
        final int m = in.keyLength();
        final int h = layout.heads();
        final int hkv = layout.kvHeads();
        final int dk = layout.headDim();
        final int qw = layout.qWidth();
        final int kvw = layout.kvWidth();
        final long f = Sizeof.cl_float;
        final boolean weights = in.returnWeights();
        final long keyStride = layout.keyStride(m);
        final int[] seqHost = Sequences.forward(b, n, m, in.keyValidLength());
        final int first = Math.min(0, m - n);
        final RopeTable table = rope == null ? null : RopeTable.of(rope, dk, RopeTable.range(first, m - first));
        long qBytes = (long) b * n * qw * f;
        long kvBytes = (long) b * m * kvw * f;
        long scoreBytes = weights ? (long) b * h * n * m * f : 0;
        long ktBytes = weights ? 0 : layout.ktBytes(b, m);
        long vBytes = weights ? 0 : layout.vBytes(b, m);
        long biasBytes = in.attnBias() != null ? (long) n * m * f : 0;
        long statBytes = FusedAttention.Stats.bytes(b, h, n, m, in.returnLse(), in.returnKeyMass() && !weights);
        requireFits("q", qBytes);
        requireFits("k", kvBytes);
        requireFits("scores [B,H,N,M]", scoreBytes);
        requireFits("K (transposed, keys padded to " + keyStride + ")", ktBytes);
        requireFits("V (rows padded to " + layout.paddedHeadDim() + ")", vBytes);
        requireFitsTotal(3 * qBytes + 2 * kvBytes + scoreBytes + ktBytes + vBytes + biasBytes + statBytes);

        cl_mem qRows = upload("q_rows", in.q(), b * n * qw);
        cl_mem kRows = upload("k_rows", in.k(), b * m * kvw);
        cl_mem vRows = upload("v_rows", in.v(), b * m * kvw);
        cl_mem bias = in.attnBias() != null ? upload("attn_bias", in.attnBias(), n * m) : none;
        cl_mem seq = upload("seq", seqHost);
        cl_mem headsOut = workspace.buffer("heads_out", qBytes);
        // with the weights, the key mass comes from them
        FusedAttention.Stats stats = FusedAttention.Stats.of(workspace, b, h, n, m, in.returnLse(),
                in.returnKeyMass() && !weights);
        try (Stages stages = new Stages(queue)) {
            cl_mem[] cs = table == null ? null : FusedAttention.upload(workspace, queue, table);
            if (weights) {
                StagedKernels k = staged();
                if (table != null) {
                    stages.add("layout", k.rope.rotate(queue, qRows, RopeKernel.Strides.rowMajor(h, n, dk), b, h, n, table,
                            cs[0], cs[1], 0, m - n - first, seq, false));
                    stages.add("layout", k.rope.rotate(queue, kRows, RopeKernel.Strides.rowMajor(hkv, m, dk), b, hkv, m,
                            table, cs[0], cs[1], 0, -first, seq, false));
                }
                cl_mem s = workspace.buffer("scores", scoreBytes);
                StagedKernels.Shape shape = new StagedKernels.Shape(b, n, m, h, hkv, dk, scale, causal, bias,
                        in.attnBias() != null, seq, mods, stats.lse());
                stages.add("scores", k.scores(queue, qRows, kRows, s, shape));
                stages.add("softmax", k.softmax(queue, s, shape));
                stages.add("weighting", k.weighting(queue, s, vRows, headsOut, shape));
                float[] heads = read(headsOut, b * n * qw);
                float[] p = read(s, b * h * n * m);
                return new AttentionOutput(b, n, m, h, dk, 0, heads, null, p, stats.readLse(this),
                        in.returnKeyMass() ? StagedKernels.keyMass(p, b, h, n, m) : null, "opencl-staged",
                        stages.millis());
            }
            cl_mem q = workspace.buffer("q", layout.qBytes(b, n));
            cl_mem kt = workspace.buffer("kt", layout.ktBytes(b, m), fused, queue);
            cl_mem v = workspace.buffer("v", layout.vBytes(b, m), fused, queue);
            stages.add("layout", fused.scatter(queue, qRows, b * n, qw,
                    new FusedKernels.Attention(q, kt, v, 0, n, n, keyStride, h, hkv, seq, false)));
            stages.add("layout", fused.scatter(queue, kRows, b * m, kvw,
                    new FusedKernels.Attention(q, kt, v, qw, m, n, keyStride, h, hkv, seq, false)));
            stages.add("layout", fused.scatter(queue, vRows, b * m, kvw,
                    new FusedKernels.Attention(q, kt, v, qw + kvw, m, n, keyStride, h, hkv, seq, false)));
            if (table != null) {
                stages.add("layout", fused.rope.rotate(queue, q, RopeKernel.Strides.queries(h, n, dk), b, h, n, table,
                        cs[0], cs[1], 0, m - n - first, seq, false));
                stages.add("layout", fused.rope.rotate(queue, kt, RopeKernel.Strides.transposedKeys(hkv, dk, keyStride),
                        b, hkv, m, table, cs[0], cs[1], 0, -first, seq, false));
            }
            FusedAttention.attend(fused, workspace, queue, stages, new FusedKernels.FlashCall(q, kt, v, bias,
                    in.attnBias() != null, m, seq, headsOut, b, n, keyStride, h, hkv, scale, causal, mods, null),
                    Sequences.maxKeys(seqHost), stats, m);
            return new AttentionOutput(b, n, m, h, dk, 0, read(headsOut, b * n * qw), null, null, stats.readLse(this),
                    stats.readKeyMass(this), "opencl-fused-" + variant.label(), stages.millis());
        }
    }

    private StagedKernels staged() {
        if (staged == null) {
            staged = new StagedKernels(shared);
        }
        return staged;
    }

    @Override
    public synchronized CacheBackend openCache(int batch, int capacity) {
        if (closed) {
            throw new IllegalStateException("the OpenCL attention is closed");
        }
        return new OpenClCache(device, variant, params, layout, options, batch, capacity, null);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (staged != null) {
            staged.release();
            staged = null;
        }
        releaseSession();
    }
}
