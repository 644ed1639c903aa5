package io.github.clattn.opencl;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Backend;
import io.github.clattn.Device;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jocl.CL;
import org.jocl.NativePointerObject;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenCL attention layer: weights live on the device from construction to {@link #close()};
 * each call uploads the activations, runs the kernels and reads the results back.
 *
 * <p>Fused path ({@code opencl-fused-cpu} or {@code opencl-fused-gpu}, see {@link KernelVariant}),
 * used unless the call asks for the attention weights: one {@code gemm} launch writes Q, K and V
 * (two for cross-attention), one {@code flash} launch computes every head without storing a
 * score, and one more {@code gemm} applies W_O when the layer has it. Memory is linear in the
 * sequence lengths.
 *
 * <p>Staged path ({@code opencl-staged}), for calls that ask for the weights: {@code project} ×3 →
 * {@code scores} → {@code softmax_rows} → {@code weight_values} (→ {@code project} for W_O),
 * materialising the {@code [B,H,N,M]} probabilities. Its program is built on first use.
 *
 * <p>Both paths read one packed copy of the weights: {@code [W_Q | W_K | W_V]} as a
 * {@code [D, ldw]} matrix with its biases (zeros where absent), and W_O, each zero-padded to the
 * fused GEMM's column block.
 *
 * <p>Calls on one object are serialized (one queue, one set of kernel objects, whose arguments
 * are per-object state); separate objects on one device share the context and built programs
 * and run concurrently. Activation buffers grow to the largest shape seen and are reused.
 */
public final class OpenClAttention implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClAttention.class);
    private static final List<String> STAGED_FILES = List.of("projection.cl", "scores.cl", "softmax.cl", "weighting.cl");
    private static final String STAGED_OPTIONS = "-cl-std=CL1.2";

    private final AttentionWeights weights;
    private final boolean causal;
    private final float scale;
    private final Device device;
    private final ClContext shared;
    private final List<NativePointerObject> owned = new ArrayList<>();
    private final Map<String, cl_mem> workspace = new HashMap<>();
    private final Map<String, Long> workspaceBytes = new HashMap<>();
    private final long weightBytes;
    private final int ldw;
    private final int ldo;
    private final String fusedPath;
    private cl_command_queue queue;
    private FusedKernels fused;
    private cl_kernel project;
    private cl_kernel scores;
    private cl_kernel softmax;
    private cl_kernel weighting;
    private cl_mem wQkv;
    private cl_mem bQkv;
    private cl_mem wO;
    private cl_mem bO;
    private cl_mem none;
    private boolean closed;
    private double buildMillis;

    /** Builds (or loads) the fused program for the variant that suits {@code device} and uploads the weights. */
    public OpenClAttention(AttentionWeights weights, AttentionOptions options, Device device) {
        this(weights, options, device, KernelVariant.chosen(device), null);
    }

    /**
     * As above with the kernel variant and parameters given: {@code params} null means the
     * device's tuning file when it matches {@code variant}, else {@link KernelParams#defaults}.
     */
    OpenClAttention(AttentionWeights weights, AttentionOptions options, Device device, KernelVariant variant,
                    KernelParams params) {
        this.weights = weights;
        this.causal = options.causal();
        this.scale = options.effectiveScale(weights.headDim());
        this.device = device;
        this.fusedPath = "opencl-fused-" + variant.label();
        KernelParams chosen = params != null ? params : Tuner.paramsFor(device, variant);
        int d = weights.dModel();
        int hd = weights.projectedDim();
        long align = variant == KernelVariant.CPU ? 16L * chosen.get("GEMM_CV") : 16;
        // Column blocks read by the three GEMM launches (Q | K V, or Q K V at once) must stay inside.
        long packed = Math.max(FusedKernels.roundUp(3L * hd, align),
                hd + FusedKernels.roundUp(2L * hd, align));
        requireArray("w_q | w_k | w_v packed", (long) d * packed);
        this.ldw = (int) packed;
        long outCols = FusedKernels.roundUp(d, align);
        requireArray("w_o packed", (long) hd * outCols);
        this.ldo = (int) outCols;
        long f = Sizeof.cl_float;
        long qkvBytes = (long) d * ldw * f;
        long oBytes = weights.hasOutputProjection() ? (long) hd * ldo * f : 0;
        this.weightBytes = qkvBytes + oBytes;
        requireFits("w_q | w_k | w_v", qkvBytes);
        requireFits("w_o", oBytes);
        this.shared = ClContext.acquire(device);
        try {
            queue = own(Cl.createQueue(shared.context, shared.deviceId, true));
            fused = new FusedKernels(shared, variant, chosen, weights.headDim());
            buildMillis = fused.buildMillis;
            long ro = CL.CL_MEM_READ_ONLY;
            wQkv = own(Cl.createBuffer(shared.context, ro, qkvBytes,
                    packColumns(d, ldw, weights.wQ(), weights.wK(), weights.wV(), hd)));
            bQkv = own(Cl.createBuffer(shared.context, ro, ldw * f,
                    packColumns(1, ldw, weights.bQ(), weights.bK(), weights.bV(), hd)));
            if (weights.hasOutputProjection()) {
                wO = own(Cl.createBuffer(shared.context, ro, oBytes, packColumns(hd, ldo, weights.wO(), null, null, d)));
                bO = own(Cl.createBuffer(shared.context, ro, ldo * f, packColumns(1, ldo, weights.bO(), null, null, d)));
            }
            none = own(Cl.createBuffer(shared.context, ro, f, new float[1]));
            LOG.debug("OpenCL layer on {}: {} with {}, program ready in {} ms", device, fusedPath, fused.params,
                    Math.round(buildMillis));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /**
     * {@code [rows, ld]} with the column blocks {@code a | b | c} (each {@code [rows, cols]}, null =
     * zeros; b and c may be absent altogether) side by side and zeros after them.
     */
    private static float[] packColumns(int rows, int ld, float[] a, float[] b, float[] c, int cols) {
        float[] packed = new float[Math.multiplyExact(rows, ld)];
        float[][] blocks = {a, b, c};
        for (int blk = 0; blk < blocks.length; blk++) {
            if (blocks[blk] == null) {
                continue;
            }
            for (int r = 0; r < rows; r++) {
                System.arraycopy(blocks[blk], r * cols, packed, r * ld + blk * cols, cols);
            }
        }
        return packed;
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
            throw new IllegalStateException("OpenClAttention is closed");
        }
        return in.returnWeights() ? staged(in) : fused(in);
    }

    // ---- fused path --------------------------------------------------------------------------

    private AttentionOutput fused(AttentionInput in) {
        final int b = in.batch();
        final int n = in.queryLength();
        final int m = in.contextLength();
        final int d = weights.dModel();
        final int h = weights.heads();
        final int dk = weights.headDim();
        final int hd = weights.projectedDim();
        final long f = Sizeof.cl_float;
        final long mp = FusedKernels.roundUp(m, FusedKernels.KEY_ALIGN);
        final long dkp = FusedKernels.roundUp(dk, 16);
        // Every buffer size first: refuse before any allocation or enqueue.
        long xBytes = (long) b * n * d * f;
        long ctxBytes = in.isCrossAttention() ? (long) b * m * d * f : 0;
        long qBytes = (long) b * n * hd * f;
        long ktBytes = (long) b * h * dk * mp * f;
        long vBytes = (long) b * h * m * dkp * f;
        long outBytes = weights.hasOutputProjection() ? (long) b * n * d * f : 0;
        long biasBytes = in.attnBias() != null ? (long) n * m * f : 0;
        requireFits("x", xBytes);
        requireFits("context", ctxBytes);
        requireFits("Q", qBytes);
        requireFits("K (transposed, keys padded to " + mp + ")", ktBytes);
        requireFits("V (rows padded to " + dkp + ")", vBytes);
        requireFits("attnBias", biasBytes);
        requireFitsTotal(xBytes + ctxBytes + 2 * qBytes + ktBytes + vBytes + outBytes + biasBytes);

        cl_mem x = buffer("x", xBytes, false);
        cl_mem context = in.isCrossAttention() ? buffer("context", ctxBytes, false) : x;
        cl_mem q = buffer("q", qBytes, false);
        cl_mem kt = buffer("kt", ktBytes, true);
        cl_mem v = buffer("v", vBytes, true);
        cl_mem headsOut = buffer("heads_out", qBytes, false);
        cl_mem out = weights.hasOutputProjection() ? buffer("out", outBytes, false) : null;
        cl_mem bias = in.attnBias() != null ? buffer("attn_bias", biasBytes, false) : none;
        cl_mem validLen = in.keyValidLength() != null ? buffer("key_valid_len", (long) b * Sizeof.cl_int, false) : none;
        writeInputs(in, x, context, bias, validLen);

        Map<String, List<cl_event>> events = new LinkedHashMap<>();
        try {
            if (in.isCrossAttention()) {
                stage(events, "projection", fused.gemm(queue, x, wQkv, bQkv, 0, ldw, q, q, q, b * n, d, hd,
                        FusedKernels.QKV, 0, n, n, m, h));
                stage(events, "projection", fused.gemm(queue, context, wQkv, bQkv, hd, ldw, q, kt, v, b * m, d, 2 * hd,
                        FusedKernels.QKV, hd, m, n, m, h));
            } else {
                stage(events, "projection", fused.gemm(queue, x, wQkv, bQkv, 0, ldw, q, kt, v, b * n, d, 3 * hd,
                        FusedKernels.QKV, 0, n, n, m, h));
            }
            stage(events, "attention", fused.flash(queue, q, kt, v, bias, validLen, headsOut, b, n, m, h, scale, causal,
                    in.attnBias() != null, in.keyValidLength() != null));
            if (out != null) {
                stage(events, "output_projection", fused.gemm(queue, headsOut, wO, bO, 0, ldo, out, out, out, b * n, hd, d,
                        FusedKernels.PLAIN, 0, n, n, m, h));
            }
            return readResults(in, headsOut, out, null, events, fusedPath);
        } finally {
            finishAndRelease(events);
        }
    }

    // ---- staged path -------------------------------------------------------------------------

    private void buildStaged() {
        if (project != null) {
            return;
        }
        long start = System.nanoTime();
        cl_program staged = shared.program(STAGED_FILES, STAGED_OPTIONS);
        buildMillis += (System.nanoTime() - start) / 1e6;
        // All four or none, so that a failure here leaves the path unbuilt rather than half-built.
        List<cl_kernel> made = new ArrayList<>();
        try {
            for (String name : new String[] {"project", "scores", "softmax_rows", "weight_values"}) {
                made.add(Cl.createKernel(staged, name));
            }
        } catch (RuntimeException e) {
            made.forEach(Cl::release);
            throw e;
        }
        made.forEach(this::own);
        project = made.get(0);
        scores = made.get(1);
        softmax = made.get(2);
        weighting = made.get(3);
    }

    private AttentionOutput staged(AttentionInput in) {
        final int b = in.batch();
        final int n = in.queryLength();
        final int m = in.contextLength();
        final int d = weights.dModel();
        final int h = weights.heads();
        final int dk = weights.headDim();
        final int hd = weights.projectedDim();
        final long f = Sizeof.cl_float;
        // Every buffer size first: refuse before any allocation or enqueue.
        long xBytes = (long) b * n * d * f;
        long ctxBytes = in.isCrossAttention() ? (long) b * m * d * f : 0;
        long qBytes = (long) b * n * hd * f;
        long kvBytes = (long) b * m * hd * f;
        long scoreBytes = (long) b * h * n * m * f;
        long outBytes = weights.hasOutputProjection() ? (long) b * n * d * f : 0;
        long biasBytes = in.attnBias() != null ? (long) n * m * f : 0;
        requireFits("x", xBytes);
        requireFits("context", ctxBytes);
        requireFits("Q", qBytes);
        requireFits("K", kvBytes);
        requireFits("scores [B,H,N,M]", scoreBytes);
        requireFits("attnBias", biasBytes);
        requireFitsTotal(xBytes + ctxBytes + qBytes * 2 + kvBytes * 2 + scoreBytes + outBytes + biasBytes);
        buildStaged();

        cl_mem x = buffer("x", xBytes, false);
        cl_mem q = buffer("q", qBytes, false);
        cl_mem k = buffer("k", kvBytes, false);
        cl_mem v = buffer("v_staged", kvBytes, false);
        cl_mem s = buffer("scores", scoreBytes, false);
        cl_mem headsOut = buffer("heads_out", qBytes, false);
        cl_mem context = in.isCrossAttention() ? buffer("context", ctxBytes, false) : x;
        cl_mem bias = in.attnBias() != null ? buffer("attn_bias", biasBytes, false) : none;
        cl_mem validLen = in.keyValidLength() != null ? buffer("key_valid_len", (long) b * Sizeof.cl_int, false) : none;
        cl_mem out = weights.hasOutputProjection() ? buffer("out", outBytes, false) : null;
        writeInputs(in, x, context, bias, validLen);

        Map<String, List<cl_event>> events = new LinkedHashMap<>();
        try {
            stage(events, "projection", project(x, wQkv, bQkv, 0, ldw, q, b * n, d, hd));
            stage(events, "projection", project(context, wQkv, bQkv, hd, ldw, k, b * m, d, hd));
            stage(events, "projection", project(context, wQkv, bQkv, 2 * hd, ldw, v, b * m, d, hd));

            int a = 0;
            Cl.setArg(scores, a++, q);
            Cl.setArg(scores, a++, k);
            Cl.setArg(scores, a++, bias);
            Cl.setArg(scores, a++, validLen);
            Cl.setArg(scores, a++, s);
            Cl.setArg(scores, a++, n);
            Cl.setArg(scores, a++, m);
            Cl.setArg(scores, a++, h);
            Cl.setArg(scores, a++, dk);
            Cl.setArg(scores, a++, scale);
            Cl.setArg(scores, a++, causal ? 1 : 0);
            Cl.setArg(scores, a++, in.attnBias() != null ? 1 : 0);
            Cl.setArg(scores, a++, in.keyValidLength() != null ? 1 : 0);
            stage(events, "scores", Cl.launch(queue, scores, new long[] {m, n, (long) b * h}, null, true));

            a = 0;
            Cl.setArg(softmax, a++, s);
            Cl.setArg(softmax, a++, (long) b * h * n);
            Cl.setArg(softmax, a++, m);
            stage(events, "softmax", Cl.launch(queue, softmax, new long[] {(long) b * h * n}, null, true));

            a = 0;
            Cl.setArg(weighting, a++, s);
            Cl.setArg(weighting, a++, v);
            Cl.setArg(weighting, a++, headsOut);
            Cl.setArg(weighting, a++, validLen);
            Cl.setArg(weighting, a++, n);
            Cl.setArg(weighting, a++, m);
            Cl.setArg(weighting, a++, h);
            Cl.setArg(weighting, a++, dk);
            Cl.setArg(weighting, a++, causal ? 1 : 0);
            Cl.setArg(weighting, a++, in.keyValidLength() != null ? 1 : 0);
            stage(events, "weighting", Cl.launch(queue, weighting, new long[] {dk, n, (long) b * h}, null, true));

            if (out != null) {
                stage(events, "output_projection", project(headsOut, wO, bO, 0, ldo, out, b * n, hd, d));
            }
            return readResults(in, headsOut, out, s, events, "opencl-staged");
        } finally {
            finishAndRelease(events);
        }
    }

    private cl_event project(cl_mem a, cl_mem w, cl_mem bias, int wCol, int ld, cl_mem c, int rows, int inner, int cols) {
        int i = 0;
        Cl.setArg(project, i++, a);
        Cl.setArg(project, i++, w);
        Cl.setArg(project, i++, bias);
        Cl.setArg(project, i++, c);
        Cl.setArg(project, i++, rows);
        Cl.setArg(project, i++, inner);
        Cl.setArg(project, i++, cols);
        Cl.setArg(project, i++, ld);
        Cl.setArg(project, i++, wCol);
        return Cl.launch(queue, project, new long[] {cols, rows}, null, true);
    }

    // ---- shared by both paths ----------------------------------------------------------------

    private void writeInputs(AttentionInput in, cl_mem x, cl_mem context, cl_mem bias, cl_mem validLen) {
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

    /** Reads the results (blocking) and sums each stage's kernel time from its profiling events. */
    private AttentionOutput readResults(AttentionInput in, cl_mem headsOut, cl_mem out, cl_mem probabilities,
                                        Map<String, List<cl_event>> events, String path) {
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
        // The blocking reads on this in-order queue return after every kernel before them.
        Map<String, Double> millis = new LinkedHashMap<>();
        events.forEach((name, list) -> millis.put(name, list.stream().mapToDouble(Cl::eventMillis).sum()));
        return new AttentionOutput(b, n, m, weights.heads(), weights.headDim(), weights.dModel(), headsOutHost, outHost,
                weightsHost, path, millis);
    }

    /** Waits for anything still enqueued before the events (and possibly the buffers) go. */
    private void finishAndRelease(Map<String, List<cl_event>> events) {
        try {
            CL.clFinish(queue);
        } catch (RuntimeException ignored) {
            // the original failure is the one worth reporting
        }
        events.values().forEach(list -> list.forEach(Cl::release));
    }

    private static void stage(Map<String, List<cl_event>> events, String name, cl_event event) {
        events.computeIfAbsent(name, k -> new ArrayList<>()).add(event);
    }

    /**
     * A reusable activation buffer of at least {@code bytes}; grows (release, then create) as
     * needed. With {@code zeroed} a new buffer is zero-filled once (the fused layout's padding).
     */
    private cl_mem buffer(String name, long bytes, boolean zeroed) {
        cl_mem m = workspace.get(name);
        if (m != null && workspaceBytes.get(name) >= bytes) {
            return m;
        }
        if (m != null) {
            workspace.remove(name);
            workspaceBytes.remove(name);
            Cl.release(m);
        }
        long size = Math.max(bytes, Sizeof.cl_float);
        m = Cl.createBuffer(shared.context, CL.CL_MEM_READ_WRITE, size, null);
        if (zeroed) {
            try {
                fused.zero(queue, m, size / Sizeof.cl_float);
            } catch (RuntimeException e) {
                Cl.release(m);
                throw e;
            }
        }
        workspace.put(name, m);
        workspaceBytes.put(name, size);
        return m;
    }

    private static void requireArray(String tensor, long elements) {
        if (elements > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(tensor + ": " + elements + " floats, more than one Java array holds; "
                    + "use a smaller layer");
        }
    }

    private void requireFits(String tensor, long bytes) {
        if (bytes > device.maxAllocBytes()) {
            throw new IllegalArgumentException(tensor + ": needs a device buffer of " + bytes + " bytes, more than "
                    + device.name() + "'s maximum allocation CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + device.maxAllocBytes()
                    + " bytes; use fewer rows per call (smaller batch or sequence)");
        }
    }

    private void requireFitsTotal(long activationBytes) {
        long total = activationBytes + weightBytes;
        if (total > device.globalMemBytes()) {
            throw new IllegalArgumentException("input: needs " + total + " bytes of device memory in all, more than "
                    + device.name() + "'s CL_DEVICE_GLOBAL_MEM_SIZE = " + device.globalMemBytes()
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
        workspace.values().forEach(Cl::release);
        workspace.clear();
        if (fused != null) {
            fused.release();
            fused = null;
        }
        for (int i = owned.size() - 1; i >= 0; i--) {
            Cl.release(owned.get(i));
        }
        owned.clear();
        if (shared != null) {
            shared.release();
        }
    }
}
