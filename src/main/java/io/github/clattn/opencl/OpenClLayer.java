package io.github.clattn.opencl;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Device;
import io.github.clattn.Rope;
import io.github.clattn.core.Backend;
import io.github.clattn.core.CacheBackend;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jocl.CL;
import org.jocl.Sizeof;
import org.jocl.cl_mem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenCL attention layer: weights live on the device from construction to {@link #close()};
 * each call runs one of two routines.
 *
 * <p>{@link FusedRoutine} ({@code opencl-fused-cpu} or {@code opencl-fused-gpu}, see
 * {@link KernelVariant}), unless the call asks for the attention weights: projections written
 * straight into the attention layout, RoPE, one flash (or split-key decode) launch, W_O. Memory is
 * linear in the sequence lengths. {@link StagedRoutine} ({@code opencl-staged}) for calls that ask
 * for the weights, materialising the {@code [B,H,N,M]} probabilities; its program is built on
 * first use.
 *
 * <p>Both read one packed copy of the weights ({@link FusedLayout}): {@code [W_Q | W_K | W_V]} as a
 * {@code [D, ldw]} matrix with its biases (zeros where absent), and W_O, each zero-padded to the
 * fused GEMM's column block. Caches opened from the layer ({@link OpenClCache}) read them too; they
 * are closed with the layer.
 *
 * <p>Calls on one object are serialized (one queue, one set of kernel objects, whose arguments
 * are per-object state); separate objects on one device share the context and built programs
 * and run concurrently. Activation buffers grow to the largest shape seen and are reused.
 */
final class OpenClLayer extends DeviceSession implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClLayer.class);

    final AttentionWeights weights;
    final FusedLayout layout;
    final float scale;
    final boolean causal;
    final Rope rope;
    final AttentionOptions options;
    final KernelVariant variant;
    final KernelParams params;
    final String fusedPath;
    final long weightBytes;
    FusedKernels.Weights wQkv;
    FusedKernels.Weights wO;
    private StagedKernels staged;
    private final Set<OpenClCache> caches = new LinkedHashSet<>();
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
        super(checked(weights, options, device, variant, params));
        this.weights = weights;
        this.causal = options.causal();
        this.scale = options.effectiveScale(weights.headDim());
        this.rope = options.rope();
        this.options = options;
        this.variant = variant;
        this.fusedPath = "opencl-fused-" + variant.label();
        this.params = params != null ? params : Tuner.paramsFor(device, variant);
        this.layout = layout(weights, device, variant, this.params);
        this.weightBytes = layout.qkvWeightBytes() + (weights.hasOutputProjection() ? layout.outputWeightBytes() : 0);
        try {
            start(variant, this.params, layout, options);
            buildMillis = fused.buildMillis;
            int d = weights.dModel();
            int q = layout.qWidth();
            int kv = layout.kvWidth();
            int panel = variant.gemm().weightPanel();
            // row-major where K | V, which a cross-attention call projects alone, would start inside a panel
            int qkvPanel = panel > 0 && q % panel == 0 ? panel : 0;
            wQkv = upload(d, layout.ldw(), qkvPanel, new float[][] {weights.wQ(), weights.wK(), weights.wV()},
                    new float[][] {weights.bQ(), weights.bK(), weights.bV()}, new int[] {q, kv, kv});
            if (weights.hasOutputProjection()) {
                wO = upload(q, layout.ldo(), panel, new float[][] {weights.wO()}, new float[][] {weights.bO()},
                        new int[] {d});
            }
            LOG.debug("OpenCL layer on {}: {} with {}, program ready in {} ms", device, fusedPath, fused.params,
                    Math.round(buildMillis));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** Checks what must hold before any device object exists: options, weight sizes against the device. */
    private static Device checked(AttentionWeights weights, AttentionOptions options, Device device,
                                  KernelVariant variant, KernelParams params) {
        options.validateFor(weights.heads(), weights.headDim());
        KernelParams p = params != null ? params : Tuner.paramsFor(device, variant);
        FusedLayout layout = layout(weights, device, variant, p);
        DeviceLimits.requireFits(device, "w_q | w_k | w_v", layout.qkvWeightBytes());
        DeviceLimits.requireFits(device, "w_o", weights.hasOutputProjection() ? layout.outputWeightBytes() : 0);
        return device;
    }

    /**
     * The weights' layout for the GEMM that {@code params} build on {@code device}: its column block
     * is taken after they are fitted to the device (FusedKernels fits them the same way), since the
     * fit may narrow the block (CpuKernelSpecs.tileWithin) and the GEMM reads whole blocks.
     */
    private static FusedLayout layout(AttentionWeights weights, Device device, KernelVariant variant,
                                      KernelParams params) {
        return FusedLayout.of(weights, variant.gemm().columnAlign(params.fittedTo(device, weights.headDim())));
    }

    /**
     * Packs column blocks {@code blocks[k] [rows, widths[k]]} side by side into {@code [rows, ld]}
     * (row-major, or in panels of {@code panel} columns: {@link FusedKernels.Weights#at}) and uploads it.
     */
    private FusedKernels.Weights upload(int rows, int ld, int panel, float[][] blocks, float[][] biases,
                                        int[] widths) {
        if (panel > 0 && ld % panel != 0) {
            throw new IllegalStateException("weights padded to " + ld + " columns, not whole panels of " + panel);
        }
        float[] data = new float[Math.multiplyExact(rows, ld)];
        float[] bias = new float[ld];
        int col = 0;
        for (int k = 0; k < blocks.length; k++) {
            for (int r = 0; r < rows; r++) {
                if (panel == 0) {
                    System.arraycopy(blocks[k], r * widths[k], data, r * ld + col, widths[k]);
                    continue;
                }
                // runs of up to one panel's columns are contiguous in both
                for (int c = 0; c < widths[k]; ) {
                    int run = Math.min(widths[k] - c, panel - (col + c) % panel);
                    System.arraycopy(blocks[k], r * widths[k] + c, data,
                            (int) FusedKernels.Weights.at(r, col + c, rows, ld, panel), run);
                    c += run;
                }
            }
            if (biases[k] != null) {
                System.arraycopy(biases[k], 0, bias, col, widths[k]);
            }
            col += widths[k];
        }
        long ro = CL.CL_MEM_READ_ONLY;
        cl_mem d = own(Cl.createBuffer(shared.context, ro, (long) data.length * Sizeof.cl_float, data));
        cl_mem b = own(Cl.createBuffer(shared.context, ro, (long) ld * Sizeof.cl_float, bias));
        return new FusedKernels.Weights(d, b, ld, panel);
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

    /**
     * A call's activations, bias and sequence table on the device: {@code context} is {@code x}
     * for self-attention, {@code bias} the placeholder {@link #none} without one.
     */
    record Inputs(cl_mem x, cl_mem context, cl_mem bias, cl_mem seq) {
    }

    /** Uploads the call's activations, its bias and its sequence table {@code seqHost}. */
    Inputs uploadInputs(AttentionInput in, int[] seqHost) {
        int d = weights.dModel();
        cl_mem x = upload("x", in.x(), in.batch() * in.queryLength() * d);
        cl_mem context = in.isCrossAttention() ? upload("context", in.context(), in.batch() * in.contextLength() * d)
                : x;
        cl_mem bias = in.attnBias() != null ? upload("attn_bias", in.attnBias(), in.queryLength() * in.contextLength())
                : none;
        return new Inputs(x, context, bias, upload("seq", seqHost));
    }

    /**
     * Reads the results (blocking, so every kernel before them is done) with each stage's kernel
     * time; the key mass comes from {@code stats} or, on the staged path, from the probabilities.
     */
    AttentionOutput readResults(AttentionInput in, cl_mem headsOut, cl_mem out, cl_mem probabilities,
                                FusedAttention.Stats stats, Stages stages, String path) {
        int b = in.batch();
        int n = in.queryLength();
        int m = in.contextLength();
        int h = weights.heads();
        float[] headsOutHost = read(headsOut, b * n * weights.projectedDim());
        float[] outHost = out != null ? read(out, b * n * weights.dModel()) : null;
        float[] weightsHost = probabilities != null ? read(probabilities, b * h * n * m) : null;
        float[] keyMass = weightsHost != null && in.returnKeyMass() ? StagedKernels.keyMass(weightsHost, b, h, n, m)
                : stats.readKeyMass(this);
        return new AttentionOutput(b, n, m, h, weights.headDim(), weights.dModel(), headsOutHost, outHost,
                weightsHost, stats.readLse(this), keyMass, path, stages.millis());
    }

    /** Refuses a call whose buffers and the weights exceed the device's memory, before anything is allocated. */
    @Override
    void requireFitsTotal(long activationBytes) {
        super.requireFitsTotal(activationBytes + weightBytes);
    }

    @Override
    public synchronized CacheBackend openCache(int batch, int capacity) {
        if (closed) {
            throw new IllegalStateException("the OpenCL layer is closed");
        }
        OpenClCache cache = new OpenClCache(device, variant, params, layout, options, batch, capacity, this);
        caches.add(cache);
        return cache;
    }

    /** A cache closed by its owner stops being tracked. */
    synchronized void forget(OpenClCache cache) {
        caches.remove(cache);
    }

    /** Releases the caches opened from this layer, every object it created, then its context reference. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // the caches read this layer's weights: they go first (their later use throws)
        for (OpenClCache cache : List.copyOf(caches)) {
            cache.close();
        }
        caches.clear();
        if (staged != null) {
            staged.release();
            staged = null;
        }
        releaseSession();
    }
}
