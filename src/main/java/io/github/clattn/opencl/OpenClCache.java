package io.github.clattn.opencl;

import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.Device;
import io.github.clattn.Rope;
import io.github.clattn.core.CacheBackend;
import io.github.clattn.core.RopeTable;
import java.util.Map;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * A key/value cache on an OpenCL device: Kt {@code [B, Hkv, DK, KS]} and V
 * {@code [B, Hkv, KS, DKP]} buffers sized by the capacity (KS the capacity rounded up to
 * KEY_ALIGN), zero-filled once, kept until {@link #close()}. Every call uploads a small per-sequence
 * table ({@link Sequences}): a layer's step projects x with one GEMM whose K and V rows land at each
 * sequence's next positions (rows past its count dropped), a pre-projected append scatters them
 * there; RoPE rotates the new keys and the chunk's queries at their positions; attention is the
 * flash kernel, or the split-key decode for one token per sequence. A session has its own queue and
 * kernel objects, so sessions of one layer run in parallel.
 */
final class OpenClCache extends DeviceSession implements CacheBackend {
    private final FusedLayout layout;
    private final float scale;
    private final boolean causal;
    private final Rope rope;
    private final int batch;
    private final long keyStride;
    private final OpenClLayer layer;
    private final String path;
    private final long bytes;
    private cl_mem kt;
    private cl_mem v;
    private boolean closed;

    OpenClCache(Device device, KernelVariant variant, KernelParams params, FusedLayout layout, AttentionOptions options,
                int batch, int capacity, OpenClLayer layer) {
        super(device);
        this.layout = layout;
        this.scale = options.effectiveScale(layout.headDim());
        this.causal = options.causal();
        this.rope = options.rope();
        this.batch = batch;
        this.keyStride = layout.keyStride(capacity);
        this.layer = layer;
        this.path = "opencl-fused-" + variant.label();
        long ktBytes = layout.ktBytes(batch, capacity);
        long vBytes = layout.vBytes(batch, capacity);
        this.bytes = ktBytes + vBytes;
        try {
            requireFits("cache K [B=" + batch + ", Hkv, dk, capacity " + capacity + "]", ktBytes);
            requireFits("cache V [B=" + batch + ", Hkv, capacity " + capacity + ", dk]", vBytes);
            requireFitsTotal(bytes);
            start(variant, params, layout, options);
            kt = workspace.buffer("cache_kt", ktBytes, fused, queue);
            v = workspace.buffer("cache_v", vBytes, fused, queue);
            Cl.finish(queue);
        } catch (RuntimeException | Error e) {
            closed = true;
            releaseSession();
            throw e;
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("KvCache: its storage is released (the cache or its layer was closed)");
        }
    }

    @Override
    public synchronized void append(float[] k, float[] vRows, int chunk, int[] starts, int[] lengths) {
        requireOpen();
        int kvw = layout.kvWidth();
        int[] seqHost = Sequences.cache(starts, lengths, lengths, starts);
        try (Stages stages = new Stages(queue)) {
            cl_mem seq = upload("seq", seqHost);
            cl_mem kRows = upload("k_rows", k, batch * chunk * kvw);
            cl_mem vBuf = upload("v_rows", vRows, batch * chunk * kvw);
            Rotation rotation = rotation(starts, chunk);
            FusedKernels.Attention target = new FusedKernels.Attention(none, kt, v, layout.qWidth(), chunk, chunk,
                    keyStride, layout.heads(), layout.kvHeads(), seq, true);
            stages.add("layout", fused.scatter(queue, kRows, batch * chunk, kvw, target));
            stages.add("layout", fused.scatter(queue, vBuf, batch * chunk, kvw, new FusedKernels.Attention(none, kt, v,
                    layout.qWidth() + kvw, chunk, chunk, keyStride, layout.heads(), layout.kvHeads(), seq, true)));
            rotateKeys(stages, "layout", seq, rotation, chunk);
            Cl.finish(queue);
        }
    }

    /** A RoPE table on the device: row t of sequence b at position starts[b] + t. */
    private record Rotation(RopeTable table, cl_mem cos, cl_mem sin) {
    }

    /**
     * The rotation of a chunk's rows at {@code starts}, uploaded now (null without RoPE): uploads are
     * blocking, so they all come before the step's first kernel and never make the host wait for one.
     */
    private Rotation rotation(int[] starts, int chunk) {
        if (rope == null) {
            return null;
        }
        RopeTable table = Sequences.perRow(rope, layout.headDim(), starts, chunk);
        cl_mem[] cs = FusedAttention.upload(workspace, queue, table);
        return new Rotation(table, cs[0], cs[1]);
    }

    /** RoPE on the keys just stored. */
    private void rotateKeys(Stages stages, String stage, cl_mem seq, Rotation r, int chunk) {
        if (r == null) {
            return;
        }
        stages.add(stage, fused.rope.rotate(queue, kt, RopeKernel.Strides.transposedKeys(layout.kvHeads(),
                layout.headDim(), keyStride), batch, layout.kvHeads(), chunk, r.table(), r.cos(), r.sin(), chunk, 0, seq,
                true));
    }

    @Override
    public synchronized AttentionOutput attend(float[] q, int chunk, int[] queryStarts, int[] keyLengths, int[] rows) {
        requireOpen();
        int qw = layout.qWidth();
        int[] seqHost = Sequences.cache(queryStarts, keyLengths, rows, new int[batch]);
        try (Stages stages = new Stages(queue)) {
            cl_mem seq = upload("seq", seqHost);
            cl_mem qRows = upload("q_rows", q, batch * chunk * qw);
            Rotation rotation = rotation(queryStarts, chunk);
            cl_mem qBuf = workspace.buffer("q", layout.qBytes(batch, chunk));
            stages.add("layout", fused.scatter(queue, qRows, batch * chunk, qw, new FusedKernels.Attention(qBuf, kt, v, 0,
                    chunk, chunk, keyStride, layout.heads(), layout.kvHeads(), seq, false)));
            float[] heads = read(attendQueries(stages, "layout", qBuf, seq, seqHost, rotation, chunk),
                    batch * chunk * qw);
            return new AttentionOutput(batch, chunk, Sequences.maxKeys(seqHost), layout.heads(), layout.headDim(), 0,
                    heads, null, null, path, stages.millis());
        }
    }

    /** Rotates the chunk's queries at their positions and attends them into heads_out [B*chunk, H*dk] (enqueued, not read). */
    private cl_mem attendQueries(Stages stages, String ropeStage, cl_mem q, cl_mem seq, int[] seqHost, Rotation r,
                                 int chunk) {
        int h = layout.heads();
        if (r != null) {
            stages.add(ropeStage, fused.rope.rotate(queue, q, RopeKernel.Strides.queries(h, chunk, layout.headDim()),
                    batch, h, chunk, r.table(), r.cos(), r.sin(), chunk, 0, seq, false));
        }
        cl_mem headsOut = workspace.buffer("heads_out", layout.qBytes(batch, chunk));
        FusedAttention.attend(fused, workspace, queue, stages, new FusedKernels.FlashCall(q, kt, v, none, false, 1, seq,
                headsOut, batch, chunk, keyStride, h, layout.kvHeads(), scale, causal, mods, null),
                Sequences.maxKeys(seqHost));
        return headsOut;
    }

    @Override
    public synchronized AttentionOutput step(float[] x, int chunk, int[] starts, int[] lengths) {
        if (layer == null) {
            throw new UnsupportedOperationException("this cache has no layer: use append and attend");
        }
        requireOpen();
        int d = layout.dModel();
        int qw = layout.qWidth();
        int kvw = layout.kvWidth();
        int[] keyLengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            keyLengths[b] = starts[b] + lengths[b];
        }
        int[] seqHost = Sequences.cache(starts, keyLengths, lengths, starts);
        Map<String, Double> millis;
        float[] heads;
        float[] out = null;
        try (Stages stages = new Stages(queue)) {
            cl_mem seq = upload("seq", seqHost);
            cl_mem xBuf = upload("x", x, batch * chunk * d);
            cl_mem q = workspace.buffer("q", layout.qBytes(batch, chunk));
            Rotation rotation = rotation(starts, chunk); // keys and queries of the chunk: the same positions
            stages.add("projection", fused.gemm(queue, new FusedKernels.GemmCall(xBuf, batch * chunk, d, layer.wQkv, 0,
                    qw + 2 * kvw, new FusedKernels.Attention(q, kt, v, 0, chunk, chunk, keyStride, layout.heads(),
                    layout.kvHeads(), seq, true))));
            rotateKeys(stages, "projection", seq, rotation, chunk);
            // every kernel is enqueued before the first read: one wait per step
            cl_mem headsOut = attendQueries(stages, "projection", q, seq, seqHost, rotation, chunk);
            if (layer.wO != null) {
                cl_mem outBuf = workspace.buffer("out", (long) batch * chunk * d * Sizeof.cl_float);
                stages.add("output_projection", fused.gemm(queue, new FusedKernels.GemmCall(headsOut, batch * chunk, qw,
                        layer.wO, 0, d, new FusedKernels.Plain(outBuf))));
                out = read(outBuf, batch * chunk * d);
                for (int b = 0; b < batch; b++) {
                    java.util.Arrays.fill(out, (b * chunk + lengths[b]) * d, (b + 1) * chunk * d, 0f); // padding rows
                }
            }
            heads = read(headsOut, batch * chunk * qw);
            millis = stages.millis();
        }
        return new AttentionOutput(batch, chunk, Sequences.maxKeys(seqHost), layout.heads(), layout.headDim(), d, heads,
                out, null, path, millis);
    }

    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public String path() {
        return path;
    }

    /**
     * Releases the storage. The layer is told after this object's lock is let go: a layer closing
     * its caches holds its own lock first, so taking them in the other order here would deadlock.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            releaseSession();
        }
        if (layer != null) {
            layer.forget(this);
        }
    }
}
