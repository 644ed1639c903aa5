package io.github.clattn;

import io.github.clattn.cpu.JavaAttention;
import io.github.clattn.opencl.OpenClAttention;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A multi-head attention layer bound to one device: weights uploaded once, activations per call.
 *
 * <pre>
 *   Q = x·W_Q + b_q      K = ctx·W_K + b_k      V = ctx·W_V + b_v          (ctx = x unless cross-attention)
 *   S_h = Q_h·K_hᵀ·scale + attn_bias,  masked (causal, key padding) → −∞
 *   P_h = softmax(S_h) per row (a row with no visible key gives zeros)
 *   heads_out = concat_h(P_h·V_h)       out = heads_out·W_O + b_O   (when W_O is given)
 * </pre>
 *
 * <p>Thread-safe: any number of threads may call {@link #forward} at once. {@link #close()}
 * waits for running calls, releases every device object and makes later calls throw
 * {@link IllegalStateException}. Close it (try-with-resources); the device is not released
 * otherwise.
 *
 * <p>On a device chosen automatically ({@link Devices#auto()}), an OpenCL failure while the
 * layer is created, or during a call, is logged once as a WARN and the work is redone on the
 * pure-Java path. A device chosen explicitly never falls back: the failure is thrown.
 */
public final class Attention implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Attention.class);

    private final AttentionWeights weights;
    private final AttentionOptions options;
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private volatile Device device;
    private volatile Backend backend;
    private boolean closed;

    private Attention(AttentionWeights weights, AttentionOptions options, Device device, Backend backend) {
        this.weights = weights;
        this.options = options;
        this.device = device;
        this.backend = backend;
    }

    /** A layer on the automatically chosen device (see {@link Devices#auto()}). */
    public static Attention open(AttentionWeights weights, AttentionOptions options) {
        return open(weights, options, Devices.auto());
    }

    /** A layer on the device a spec names (see {@link Devices#select(String)}). */
    public static Attention open(AttentionWeights weights, AttentionOptions options, String deviceSpec) {
        return open(weights, options, Devices.select(deviceSpec));
    }

    /** A layer on {@code device}. */
    public static Attention open(AttentionWeights weights, AttentionOptions options, Device device) {
        Shapes.notNull("weights", weights);
        Shapes.notNull("options", options);
        Shapes.notNull("device", device);
        if (device.isJava()) {
            return new Attention(weights, options, device, new JavaAttention(weights, options));
        }
        try {
            return new Attention(weights, options, device, new OpenClAttention(weights, options, device));
        } catch (ClattnException | LinkageError e) {
            if (!device.automatic()) {
                throw e;
            }
            Devices.warnFallback("device " + device + " failed to start: " + e.getMessage());
            LOG.debug("OpenCL start failure", e);
            Device java = Device.java().asAutomatic();
            return new Attention(weights, options, java, new JavaAttention(weights, options));
        }
    }

    /**
     * Computes attention for {@code input}. Shapes are checked first; nothing is enqueued for a
     * bad input. B = 0 or N = 0 returns empty arrays without touching the device.
     *
     * @throws IllegalArgumentException a shape, length or value does not match the layer
     * @throws IllegalStateException    the layer is closed
     * @throws ClattnException          the device failed (explicitly chosen devices only)
     */
    public AttentionOutput forward(AttentionInput input) {
        Shapes.notNull("input", input);
        input.validate(weights.dModel());
        lifecycle.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("Attention is closed: create a new one to compute again");
            }
            if (input.isEmpty()) {
                return empty(input);
            }
            Backend current = backend;
            try {
                return current.forward(input);
            } catch (ClattnException e) {
                if (!device.automatic() || device.isJava()) {
                    throw e;
                }
                LOG.warn("OpenCL call on {} failed ({}); redoing it on the pure-Java path", device, e.getMessage());
                LOG.debug("OpenCL call failure", e);
                return fallbackBackend().forward(input);
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private Backend javaFallback;

    private synchronized Backend fallbackBackend() {
        if (javaFallback == null) {
            javaFallback = new JavaAttention(weights, options);
        }
        return javaFallback;
    }

    private AttentionOutput empty(AttentionInput in) {
        int hd = weights.projectedDim();
        int b = in.batch();
        int n = in.queryLength();
        float[] headsOut = new float[Shapes.arrayLength("heads_out", "[B, N, H*dk]", b, n, hd)];
        float[] out = weights.hasOutputProjection() ? new float[0] : null;
        float[] w = in.returnWeights() ? new float[0] : null;
        return new AttentionOutput(b, n, in.contextLength(), weights.heads(), weights.headDim(), weights.dModel(),
                headsOut, out, w, "empty", null);
    }

    /** The device this layer runs on (the Java path after an automatic fallback at creation). */
    public Device device() {
        return device;
    }

    /** Wall time spent building or loading device programs when this layer was opened, in ms (0 for Java). */
    public double buildMillis() {
        return backend.buildMillis();
    }

    public AttentionWeights weights() {
        return weights;
    }

    public AttentionOptions options() {
        return options;
    }

    /** Waits for running calls, then releases every device object. Idempotent. */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                backend.close();
            } finally {
                synchronized (this) {
                    if (javaFallback != null) {
                        javaFallback.close();
                    }
                }
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }
}
