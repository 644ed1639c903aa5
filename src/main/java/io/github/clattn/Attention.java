package io.github.clattn;

import io.github.clattn.core.Backend;
import io.github.clattn.core.Backends;
import io.github.clattn.core.Shapes;
import java.util.concurrent.atomic.AtomicInteger;
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
    private final OpenCaches caches = new OpenCaches();
    private volatile Device device;
    private volatile Backend backend;
    private boolean closed;
    private boolean recreated;
    private final AtomicInteger failuresInARow = new AtomicInteger();

    /** Failed calls in a row (automatic device) before the device objects are recreated. */
    public static final int FAILURES_BEFORE_RECOVERY = 2;

    private Attention(AttentionWeights weights, AttentionOptions options, Device device, Backend backend) {
        this.weights = weights;
        this.options = options;
        this.device = device;
        this.backend = backend;
    }

    /**
     * A layer on the automatically chosen device (see {@link Devices#auto()}); an OpenCL device that
     * fails to start falls back to the Java path with one WARN.
     *
     * @param weights the layer's tensors
     * @param options causal rule, scale, RoPE and score modifiers, fixed for the layer's life
     * @return the open layer; close it
     * @throws IllegalArgumentException an argument is null, an option does not fit the weights (RoPE
     *                                  width, ALiBi slopes or sinks not of length H), or the device
     *                                  override names no device
     * @throws ClattnException          the device override ({@value Devices#DEVICE_PROPERTY},
     *                                  {@value Devices#DEVICE_ENV}) names an OpenCL device that fails
     */
    public static Attention open(AttentionWeights weights, AttentionOptions options) {
        return open(weights, options, Devices.auto());
    }

    /**
     * A layer on the device a spec names (see {@link Devices#select(String)}); only {@code auto}
     * falls back to the Java path.
     *
     * @param weights    the layer's tensors
     * @param options    causal rule, scale, RoPE and score modifiers, fixed for the layer's life
     * @param deviceSpec {@code auto}, {@code java}, {@code opencl}, {@code opencl:I}, ... (see {@link Devices})
     * @return the open layer; close it
     * @throws IllegalArgumentException an argument is null, no device matches the spec, or an option
     *                                  does not fit the weights
     * @throws ClattnException          the OpenCL device the spec names is missing or fails to start
     */
    public static Attention open(AttentionWeights weights, AttentionOptions options, String deviceSpec) {
        return open(weights, options, Devices.select(deviceSpec));
    }

    /**
     * A layer on {@code device}: uploads the weights and builds (or loads from the binary cache) the
     * device programs. Only a device chosen by the automatic rule falls back to the Java path.
     *
     * @param weights the layer's tensors
     * @param options causal rule, scale, RoPE and score modifiers, fixed for the layer's life
     * @param device  a device from {@link Devices}
     * @return the open layer; close it
     * @throws IllegalArgumentException an argument is null, an option does not fit the weights, or a
     *                                  weight buffer exceeds the device's maximum allocation
     * @throws ClattnException          the device fails to start (explicitly chosen devices only)
     */
    public static Attention open(AttentionWeights weights, AttentionOptions options, Device device) {
        Shapes.notNull("weights", weights);
        Shapes.notNull("options", options);
        Shapes.notNull("device", device);
        options.validateFor(weights.heads(), weights.headDim());
        try {
            return new Attention(weights, options, device, Backends.of(device).open(weights, options, device, null));
        } catch (ClattnException | LinkageError e) {
            if (!device.automatic() || device.isJava()) {
                throw e;
            }
            Devices.warnFallback("device " + device + " failed to start: " + e.getMessage());
            LOG.debug("Device start failure", e);
            Device java = Backends.fallback().devices().get(0).asAutomatic();
            return new Attention(weights, options, java, Backends.fallback().open(weights, options, java, null));
        }
    }

    /**
     * Computes attention for {@code input}. Shapes are checked first; nothing is enqueued for a
     * bad input. B = 0 or N = 0 returns empty arrays without touching the device.
     *
     * <p>On an automatically chosen OpenCL device a failed call is redone on the Java path (one
     * WARN). After {@value #FAILURES_BEFORE_RECOVERY} failed calls in a row the device objects are
     * recreated once; if the device keeps failing after that, the layer moves to the Java path
     * for good.
     *
     * @param input the activations and masks of this call
     * @return {@code out [B, N, D]} (or {@code heads_out [B, N, H*dk]} without an output projection)
     *         and whatever else the input asked for
     * @throws IllegalArgumentException {@code input} is null; a shape, length or value does not match
     *                                  the layer; or a buffer exceeds the device's maximum allocation
     * @throws IllegalStateException    the layer is closed
     * @throws ClattnException          the device failed (explicitly chosen devices only)
     */
    public AttentionOutput forward(AttentionInput input) {
        Shapes.notNull("input", input);
        input.validate(weights.dModel());
        AttentionOutput result;
        lifecycle.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("Attention is closed: create a new one to compute again");
            }
            if (input.isEmpty()) {
                return empty(input);
            }
            try {
                result = backend.forward(input);
                failuresInARow.set(0);
                return result;
            } catch (ClattnException e) {
                if (!device.automatic() || device.isJava()) {
                    throw e;
                }
                LOG.warn("OpenCL call on {} failed ({}); redoing it on the pure-Java path", device, e.getMessage());
                LOG.debug("OpenCL call failure", e);
                result = fallbackBackend().forward(input);
            }
        } finally {
            lifecycle.readLock().unlock();
        }
        if (failuresInARow.incrementAndGet() >= FAILURES_BEFORE_RECOVERY) {
            recover();
        }
        return result;
    }

    /** After repeated failures: recreate the OpenCL objects once, then give up on the device. */
    private void recover() {
        lifecycle.writeLock().lock();
        try {
            if (closed || device.isJava() || failuresInARow.get() < FAILURES_BEFORE_RECOVERY) {
                return;
            }
            failuresInARow.set(0);
            Backend failing = backend;
            backend = fallbackBackend();
            // the failing objects hold the caches' storage: the caches close with them, saying why
            caches.closeAll("its Attention's OpenCL objects were recreated after " + FAILURES_BEFORE_RECOVERY
                    + " failed calls in a row");
            failing.close();
            if (!recreated) {
                recreated = true;
                try {
                    backend = Backends.of(device).open(weights, options, device, null);
                    LOG.warn("OpenCL device {} failed {} calls in a row; recreated its context and buffers", device,
                            FAILURES_BEFORE_RECOVERY);
                    return;
                } catch (ClattnException | LinkageError e) {
                    LOG.debug("Recreating the OpenCL layer failed", e);
                }
            }
            LOG.warn("OpenCL device {} keeps failing; this layer uses the pure-Java path from now on", device);
            device = Backends.fallback().devices().get(0).asAutomatic();
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private Backend javaFallback;

    private synchronized Backend fallbackBackend() {
        if (javaFallback == null) {
            Device java = Backends.fallback().devices().get(0);
            javaFallback = Backends.fallback().open(weights, options, java, null);
        }
        return javaFallback;
    }

    /** B = 0 or N = 0: every result array is empty. */
    private AttentionOutput empty(AttentionInput in) {
        float[] out = weights.hasOutputProjection() ? new float[0] : null;
        float[] w = in.returnWeights() ? new float[0] : null;
        return new AttentionOutput(in.batch(), in.queryLength(), in.contextLength(), weights.heads(), weights.headDim(),
                weights.dModel(), new float[0], out, w, "empty", null);
    }

    /**
     * A {@link KvCache} of {@code batch} sequences of up to {@code capacity} positions on this layer's
     * device, filled by this layer's projections ({@link KvCache#prefill}, {@link KvCache#decode}).
     * Sessions are independent: several may run in parallel, each on its own thread. It does not
     * fall back to the Java path. Close it before the layer: closing the layer closes it, on every
     * device (later calls on it throw {@link IllegalStateException}).
     *
     * @param batch    the number of sequences B
     * @param capacity the most positions (tokens) each sequence can hold
     * @return an empty cache session; close it
     * @throws IllegalArgumentException a size is not positive, or the cache exceeds the device's
     *                                  maximum allocation
     * @throws IllegalStateException    the layer is closed
     * @throws ClattnException          the device could not allocate the cache
     */
    public KvCache openCache(int batch, int capacity) {
        KvCache.checkSizes(batch, capacity);
        lifecycle.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("Attention is closed: create a new one to compute again");
            }
            return caches.add(new KvCache(backend.openCache(batch, capacity), null, batch, capacity, weights.heads(),
                    weights.kvHeads(), weights.headDim(), weights.dModel()));
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * {@return the device this layer runs on} The Java path after an automatic fallback (at
     * creation, or for good after repeated failures).
     */
    public Device device() {
        return device;
    }

    /**
     * {@return the wall time spent building or loading device programs when this layer was opened,
     * in milliseconds} 0 on the Java path.
     */
    public double buildMillis() {
        return backend.buildMillis();
    }

    /** {@return the weights this layer was opened with} */
    public AttentionWeights weights() {
        return weights;
    }

    /** {@return the options this layer was opened with} */
    public AttentionOptions options() {
        return options;
    }

    /**
     * Waits for running calls, closes the caches opened from this layer that are still open, then
     * releases every device object. Idempotent.
     */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                caches.closeAll(OpenCaches.closedOwner("Attention"));
            } finally {
                try {
                    backend.close();
                } finally {
                    Backend fallback = javaFallback;
                    if (fallback != null && fallback != backend) {
                        fallback.close();
                    }
                }
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }
}
