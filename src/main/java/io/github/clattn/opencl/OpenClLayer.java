package io.github.clattn.opencl;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Device;
import io.github.clattn.core.Backend;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.NativePointerObject;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_mem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenCL attention layer: weights live on the device from construction to {@link #close()};
 * each call runs one of two routines.
 *
 * <p>{@link FusedRoutine} ({@code opencl-fused-cpu} or {@code opencl-fused-gpu}, see
 * {@link KernelVariant}), unless the call asks for the attention weights: projections written
 * straight into the attention layout, one flash launch, W_O. Memory is linear in the sequence
 * lengths. {@link StagedRoutine} ({@code opencl-staged}) for calls that ask for the weights,
 * materialising the {@code [B,H,N,M]} probabilities; its program is built on first use.
 *
 * <p>Both read one packed copy of the weights ({@link FusedLayout}): {@code [W_Q | W_K | W_V]} as a
 * {@code [D, ldw]} matrix with its biases (zeros where absent), and W_O, each zero-padded to the
 * fused GEMM's column block.
 *
 * <p>Calls on one object are serialized (one queue, one set of kernel objects, whose arguments
 * are per-object state); separate objects on one device share the context and built programs
 * and run concurrently. Activation buffers grow to the largest shape seen and are reused.
 */
final class OpenClLayer implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClLayer.class);

    final AttentionWeights weights;
    final Device device;
    final ClContext shared;
    final FusedLayout layout;
    final float scale;
    final boolean causal;
    final String fusedPath;
    final long weightBytes;
    final Workspace workspace;
    private final List<NativePointerObject> owned = new ArrayList<>();
    cl_command_queue queue;
    FusedKernels fused;
    FusedKernels.Weights wQkv;
    FusedKernels.Weights wO;
    cl_mem none;
    private StagedKernels staged;
    private final FusedRoutine fusedRoutine = new FusedRoutine(this);
    private final StagedRoutine stagedRoutine = new StagedRoutine(this);
    private boolean closed;
    private double buildMillis;

    /**
     * Builds (or loads) the fused program of {@code variant} and uploads the weights; {@code params}
     * null means the device's tuning file when it matches {@code variant}, else the defaults.
     */
    OpenClLayer(AttentionWeights weights, AttentionOptions options, Device device, KernelVariant variant,
                KernelParams params) {
        this.weights = weights;
        this.device = device;
        this.causal = options.causal();
        this.scale = options.effectiveScale(weights.headDim());
        this.fusedPath = "opencl-fused-" + variant.label();
        KernelParams chosen = params != null ? params : Tuner.paramsFor(device, variant);
        this.layout = FusedLayout.of(weights, variant.gemm().columnAlign(chosen));
        long qkvBytes = layout.qkvWeightBytes();
        long oBytes = weights.hasOutputProjection() ? layout.outputWeightBytes() : 0;
        this.weightBytes = qkvBytes + oBytes;
        requireFits("w_q | w_k | w_v", qkvBytes);
        requireFits("w_o", oBytes);
        this.shared = ClContext.acquire(device);
        this.workspace = new Workspace(shared);
        try {
            queue = own(Cl.createQueue(shared.context, shared.deviceId, true));
            fused = new FusedKernels(shared, variant, chosen, layout);
            buildMillis = fused.buildMillis;
            int d = weights.dModel();
            int q = layout.qWidth();
            int kv = layout.kvWidth();
            wQkv = upload(d, layout.ldw(), new float[][] {weights.wQ(), weights.wK(), weights.wV()},
                    new float[][] {weights.bQ(), weights.bK(), weights.bV()}, new int[] {q, kv, kv});
            if (weights.hasOutputProjection()) {
                wO = upload(q, layout.ldo(), new float[][] {weights.wO()}, new float[][] {weights.bO()}, new int[] {d});
            }
            none = own(Cl.createBuffer(shared.context, CL.CL_MEM_READ_ONLY, Sizeof.cl_float, new float[1]));
            LOG.debug("OpenCL layer on {}: {} with {}, program ready in {} ms", device, fusedPath, fused.params,
                    Math.round(buildMillis));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** Packs column blocks {@code blocks[k] [rows, widths[k]]} side by side into {@code [rows, ld]} and uploads it. */
    private FusedKernels.Weights upload(int rows, int ld, float[][] blocks, float[][] biases, int[] widths) {
        float[] data = new float[Math.multiplyExact(rows, ld)];
        float[] bias = new float[ld];
        int col = 0;
        for (int k = 0; k < blocks.length; k++) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(blocks[k], r * widths[k], data, r * ld + col, widths[k]);
            }
            if (biases[k] != null) {
                System.arraycopy(biases[k], 0, bias, col, widths[k]);
            }
            col += widths[k];
        }
        long ro = CL.CL_MEM_READ_ONLY;
        cl_mem d = own(Cl.createBuffer(shared.context, ro, (long) data.length * Sizeof.cl_float, data));
        cl_mem b = own(Cl.createBuffer(shared.context, ro, (long) ld * Sizeof.cl_float, bias));
        return new FusedKernels.Weights(d, b, ld);
    }

    private <T extends NativePointerObject> T own(T object) {
        owned.add(object);
        return object;
    }

    @Override
    public double buildMillis() {
        return buildMillis;
    }

    /** The kernel parameters the fused path runs with (after fitting them to the device). */
    KernelParams kernelParams() {
        return fused.params;
    }

    @Override
    public synchronized AttentionOutput forward(AttentionInput in) {
        if (closed) {
            throw new IllegalStateException("the OpenCL layer is closed");
        }
        return in.returnWeights() ? stagedRoutine.run(in) : fusedRoutine.run(in);
    }

    /** The staged kernels, built all or nothing on first use. */
    StagedKernels staged() {
        if (staged == null) {
            staged = new StagedKernels(shared);
            buildMillis += staged.buildMillis;
        }
        return staged;
    }

    /** Uploads the call's activations and masks. */
    void writeInputs(AttentionInput in, cl_mem x, cl_mem context, cl_mem bias, cl_mem validLen) {
        int d = weights.dModel();
        Cl.write(queue, x, in.x(), in.batch() * in.queryLength() * d);
        if (in.isCrossAttention()) {
            Cl.write(queue, context, in.context(), in.batch() * in.contextLength() * d);
        }
        if (in.attnBias() != null) {
            Cl.write(queue, bias, in.attnBias(), in.queryLength() * in.contextLength());
        }
        if (in.keyValidLength() != null) {
            Cl.write(queue, validLen, in.keyValidLength());
        }
    }

    /** Reads the results (blocking, so every kernel before them is done) with each stage's kernel time. */
    AttentionOutput readResults(AttentionInput in, cl_mem headsOut, cl_mem out, cl_mem probabilities, Stages stages,
                                String path) {
        int b = in.batch();
        int n = in.queryLength();
        int m = in.contextLength();
        float[] headsOutHost = new float[b * n * weights.projectedDim()];
        Cl.read(queue, headsOut, headsOutHost, headsOutHost.length);
        float[] outHost = null;
        if (out != null) {
            outHost = new float[b * n * weights.dModel()];
            Cl.read(queue, out, outHost, outHost.length);
        }
        float[] weightsHost = null;
        if (probabilities != null) {
            weightsHost = new float[b * weights.heads() * n * m];
            Cl.read(queue, probabilities, weightsHost, weightsHost.length);
        }
        return new AttentionOutput(b, n, m, weights.heads(), weights.headDim(), weights.dModel(), headsOutHost, outHost,
                weightsHost, path, stages.millis());
    }

    /** Refuses a buffer larger than the device's largest allocation, before anything is allocated. */
    void requireFits(String tensor, long bytes) {
        if (bytes > device.info().maxAllocBytes()) {
            throw new IllegalArgumentException(tensor + ": needs a device buffer of " + bytes + " bytes, more than "
                    + device.name() + "'s maximum allocation CL_DEVICE_MAX_MEM_ALLOC_SIZE = "
                    + device.info().maxAllocBytes() + " bytes; use fewer rows per call (smaller batch or sequence)");
        }
    }

    /** Refuses a call whose buffers and the weights exceed the device's memory, before anything is allocated. */
    void requireFitsTotal(long activationBytes) {
        long total = activationBytes + weightBytes;
        if (total > device.info().globalMemBytes()) {
            throw new IllegalArgumentException("input: needs " + total + " bytes of device memory in all, more than "
                    + device.name() + "'s CL_DEVICE_GLOBAL_MEM_SIZE = " + device.info().globalMemBytes()
                    + " bytes; use fewer rows per call (smaller batch or sequence)");
        }
    }

    /** Releases every object this layer created, then its reference on the shared context. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        workspace.release();
        if (staged != null) {
            staged.release();
            staged = null;
        }
        if (fused != null) {
            fused.release();
            fused = null;
        }
        for (int i = owned.size() - 1; i >= 0; i--) {
            Cl.release(owned.get(i));
        }
        owned.clear();
        shared.release();
    }
}
