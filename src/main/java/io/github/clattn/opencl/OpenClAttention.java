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

/**
 * The OpenCL attention layer: weights live on the device from construction to {@link #close()};
 * each call uploads the activations, runs the stages and reads the results back.
 *
 * <p>Staged path ({@code opencl-staged}): {@code project} ×3 → {@code scores} → {@code softmax_rows}
 * → {@code weight_values} (→ {@code project} for W_O), materialising the {@code [B,H,N,M]} scores.
 *
 * <p>Calls on one object are serialized (one queue, one set of kernel objects, whose arguments
 * are per-object state); separate objects on one device share the context and built programs
 * and run concurrently. Activation buffers grow to the largest shape seen and are reused.
 */
public final class OpenClAttention implements Backend {
    private static final List<String> STAGED_FILES = List.of("projection.cl", "scores.cl", "softmax.cl", "weighting.cl");
    private static final String BUILD_OPTIONS = "-cl-std=CL1.2";

    private final AttentionWeights weights;
    private final boolean causal;
    private final float scale;
    private final Device device;
    private final ClContext shared;
    private final List<NativePointerObject> owned = new ArrayList<>();
    private final Map<String, cl_mem> workspace = new HashMap<>();
    private final Map<String, Long> workspaceBytes = new HashMap<>();
    private final long weightBytes;
    private cl_command_queue queue;
    private cl_kernel project;
    private cl_kernel scores;
    private cl_kernel softmax;
    private cl_kernel weighting;
    private cl_mem wQ;
    private cl_mem wK;
    private cl_mem wV;
    private cl_mem bQ;
    private cl_mem bK;
    private cl_mem bV;
    private cl_mem wO;
    private cl_mem bO;
    private cl_mem none;
    private boolean closed;
    private double buildMillis;

    /** Builds (or reuses) the programs on {@code device} and uploads the weights. */
    public OpenClAttention(AttentionWeights weights, AttentionOptions options, Device device) {
        this.weights = weights;
        this.causal = options.causal();
        this.scale = options.effectiveScale(weights.headDim());
        this.device = device;
        long projBytes = (long) weights.dModel() * weights.projectedDim() * Sizeof.cl_float;
        this.weightBytes = projBytes * (weights.hasOutputProjection() ? 4 : 3);
        requireFits("w_q", projBytes);
        this.shared = ClContext.acquire(device);
        try {
            queue = own(Cl.createQueue(shared.context, shared.deviceId, true));
            long buildStart = System.nanoTime();
            cl_program staged = shared.program(STAGED_FILES, BUILD_OPTIONS);
            buildMillis = (System.nanoTime() - buildStart) / 1e6;
            project = own(Cl.createKernel(staged, "project"));
            scores = own(Cl.createKernel(staged, "scores"));
            softmax = own(Cl.createKernel(staged, "softmax_rows"));
            weighting = own(Cl.createKernel(staged, "weight_values"));
            long ro = CL.CL_MEM_READ_ONLY;
            wQ = own(Cl.createBuffer(shared.context, ro, projBytes, weights.wQ()));
            wK = own(Cl.createBuffer(shared.context, ro, projBytes, weights.wK()));
            wV = own(Cl.createBuffer(shared.context, ro, projBytes, weights.wV()));
            bQ = upload(weights.bQ());
            bK = upload(weights.bK());
            bV = upload(weights.bV());
            wO = upload(weights.wO());
            bO = upload(weights.bO());
            none = own(Cl.createBuffer(shared.context, ro, Sizeof.cl_float, null));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private cl_mem upload(float[] host) {
        return host == null ? null : own(Cl.createBuffer(shared.context, CL.CL_MEM_READ_ONLY,
                (long) host.length * Sizeof.cl_float, host));
    }

    private <T extends NativePointerObject> T own(T object) {
        owned.add(object);
        return object;
    }

    @Override
    public double buildMillis() {
        return buildMillis;
    }

    @Override
    public synchronized AttentionOutput forward(AttentionInput in) {
        if (closed) {
            throw new IllegalStateException("OpenClAttention is closed");
        }
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

        cl_mem x = buffer("x", xBytes);
        cl_mem q = buffer("q", qBytes);
        cl_mem k = buffer("k", kvBytes);
        cl_mem v = buffer("v", kvBytes);
        cl_mem s = buffer("scores", scoreBytes);
        cl_mem headsOut = buffer("heads_out", qBytes);
        cl_mem context = in.isCrossAttention() ? buffer("context", ctxBytes) : x;
        cl_mem bias = in.attnBias() != null ? buffer("attn_bias", biasBytes) : none;
        cl_mem validLen = in.keyValidLength() != null ? buffer("key_valid_len", (long) b * Sizeof.cl_int) : none;
        cl_mem out = weights.hasOutputProjection() ? buffer("out", outBytes) : null;

        Cl.write(queue, x, in.x(), b * n * d);
        if (in.isCrossAttention()) {
            Cl.write(queue, context, in.context(), b * m * d);
        }
        if (in.attnBias() != null) {
            Cl.write(queue, bias, in.attnBias(), n * m);
        }
        if (in.keyValidLength() != null) {
            Cl.write(queue, validLen, in.keyValidLength());
        }

        Map<String, List<cl_event>> events = new LinkedHashMap<>();
        try {
            stage(events, "projection", project(x, wQ, bQ, q, b * n, d, hd));
            stage(events, "projection", project(context, wK, bK, k, b * m, d, hd));
            stage(events, "projection", project(context, wV, bV, v, b * m, d, hd));

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
                stage(events, "output_projection", project(headsOut, wO, bO, out, b * n, hd, d));
            }

            float[] headsOutHost = new float[b * n * hd];
            Cl.read(queue, headsOut, headsOutHost, headsOutHost.length);
            float[] outHost = null;
            if (out != null) {
                outHost = new float[b * n * d];
                Cl.read(queue, out, outHost, outHost.length);
            }
            float[] weightsHost = null;
            if (in.returnWeights()) {
                weightsHost = new float[b * h * n * m];
                Cl.read(queue, s, weightsHost, weightsHost.length);
            }
            Cl.finish(queue);
            Map<String, Double> millis = new LinkedHashMap<>();
            events.forEach((name, list) -> millis.put(name, list.stream().mapToDouble(Cl::eventMillis).sum()));
            return new AttentionOutput(b, n, m, h, dk, d, headsOutHost, outHost, weightsHost, "opencl-staged", millis);
        } finally {
            // Wait for anything still enqueued before the events (and possibly the buffers) go.
            try {
                CL.clFinish(queue);
            } catch (RuntimeException ignored) {
                // the original failure is the one worth reporting
            }
            events.values().forEach(list -> list.forEach(Cl::release));
        }
    }

    private static void stage(Map<String, List<cl_event>> events, String name, cl_event event) {
        events.computeIfAbsent(name, k -> new ArrayList<>()).add(event);
    }

    private cl_event project(cl_mem a, cl_mem w, cl_mem bias, cl_mem c, int rows, int inner, int cols) {
        int i = 0;
        Cl.setArg(project, i++, a);
        Cl.setArg(project, i++, w);
        Cl.setArg(project, i++, bias != null ? bias : none);
        Cl.setArg(project, i++, c);
        Cl.setArg(project, i++, rows);
        Cl.setArg(project, i++, inner);
        Cl.setArg(project, i++, cols);
        Cl.setArg(project, i++, bias != null ? 1 : 0);
        return Cl.launch(queue, project, new long[] {cols, rows}, null, true);
    }

    /** A reusable activation buffer of at least {@code bytes}; grows (release, then create) as needed. */
    private cl_mem buffer(String name, long bytes) {
        cl_mem m = workspace.get(name);
        if (m != null && workspaceBytes.get(name) >= bytes) {
            return m;
        }
        if (m != null) {
            workspace.remove(name);
            workspaceBytes.remove(name);
            Cl.release(m);
        }
        m = Cl.createBuffer(shared.context, CL.CL_MEM_READ_WRITE, bytes, null);
        workspace.put(name, m);
        workspaceBytes.put(name, bytes);
        return m;
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
        for (int i = owned.size() - 1; i >= 0; i--) {
            Cl.release(owned.get(i));
        }
        owned.clear();
        if (shared != null) {
            shared.release();
        }
    }
}
