package io.github.clattn;

import io.github.clattn.core.Backends;
import io.github.clattn.core.ProjectedBackend;
import io.github.clattn.core.Shapes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scaled dot-product attention on queries, keys and values the caller projected itself, for
 * engines with their own projections (quantized weights, QK-norm, custom RoPE scaling):
 *
 * <pre>
 *   q [B, N, H, dk]   k, v [B, M, Hkv, dk]   (Hkv divides H; query head h reads K/V head h / (H/Hkv))
 *   s = scale · q_h · k_g + attn_bias, masked (causal, key padding) → −∞;  p = softmax(s);  heads_out = p · v_g
 * </pre>
 *
 * Every mask, bias and scale option of a layer applies, and RoPE when the options have it (query i
 * at position {@code i + M - N}, key j at j). Runs fused on every device (staged on OpenCL when the
 * weights are asked for). Thread-safe; close it to release the device. Unlike {@link Attention} it
 * does not redo a failed call on the Java path: an automatic device falls back only when it fails
 * to start.
 */
public final class ScaledDotProduct implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ScaledDotProduct.class);

    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final AttentionOptions options;
    private final Device device;
    private final ProjectedBackend backend;
    private volatile boolean closed;
    private final OpenCaches caches = new OpenCaches();

    private ScaledDotProduct(int heads, int kvHeads, int headDim, AttentionOptions options, Device device,
                             ProjectedBackend backend) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.options = options;
        this.device = device;
        this.backend = backend;
    }

    /**
     * On the automatically chosen device (see {@link Devices#auto()}).
     *
     * @param heads   H, the query heads
     * @param kvHeads Hkv, the key/value heads; divides H
     * @param headDim dk, the width of one head
     * @param options causal rule, scale, RoPE and score modifiers
     * @return the open object; close it
     * @throws IllegalArgumentException a size is not positive, {@code kvHeads} does not divide
     *                                  {@code heads}, {@code options} is null or does not fit the
     *                                  head width, or the device override names no device
     * @throws ClattnException          the device override names an OpenCL device that fails
     */
    public static ScaledDotProduct open(int heads, int kvHeads, int headDim, AttentionOptions options) {
        return open(heads, kvHeads, headDim, options, Devices.auto());
    }

    /**
     * On the device a spec names (see {@link Devices#select(String)}).
     *
     * @param heads      H, the query heads
     * @param kvHeads    Hkv, the key/value heads; divides H
     * @param headDim    dk, the width of one head
     * @param options    causal rule, scale, RoPE and score modifiers
     * @param deviceSpec {@code auto}, {@code java}, {@code opencl}, {@code opencl:I}, ... (see {@link Devices})
     * @return the open object; close it
     * @throws IllegalArgumentException a size is not positive, {@code kvHeads} does not divide
     *                                  {@code heads}, an option does not fit the head width, or no
     *                                  device matches the spec
     * @throws ClattnException          the OpenCL device the spec names is missing or fails to start
     */
    public static ScaledDotProduct open(int heads, int kvHeads, int headDim, AttentionOptions options, String deviceSpec) {
        return open(heads, kvHeads, headDim, options, Devices.select(deviceSpec));
    }

    /**
     * On {@code device}. An automatically chosen OpenCL device that fails to start falls back to the
     * Java path with one WARN.
     *
     * @param heads   H, the query heads
     * @param kvHeads Hkv, the key/value heads; divides H
     * @param headDim dk, the width of one head
     * @param options causal rule, scale, RoPE and score modifiers
     * @param device  a device from {@link Devices}
     * @return the open object; close it
     * @throws IllegalArgumentException a size is not positive, {@code kvHeads} does not divide
     *                                  {@code heads}, an argument is null, or an option does not fit
     *                                  the head width
     * @throws ClattnException          the device fails to start (explicitly chosen devices only)
     */
    public static ScaledDotProduct open(int heads, int kvHeads, int headDim, AttentionOptions options, Device device) {
        Shapes.positive("heads", heads);
        Shapes.positive("kvHeads", kvHeads);
        Shapes.positive("headDim", headDim);
        Shapes.notNull("options", options);
        Shapes.notNull("device", device);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("kvHeads: expected a divisor of heads=" + heads + ", got " + kvHeads);
        }
        options.validateFor(heads, headDim);
        try {
            return new ScaledDotProduct(heads, kvHeads, headDim, options, device,
                    Backends.of(device).openProjected(heads, kvHeads, headDim, options, device, null));
        } catch (ClattnException | LinkageError e) {
            if (!device.automatic() || device.isJava()) {
                throw e;
            }
            Devices.warnFallback("device " + device + " failed to start: " + e.getMessage());
            LOG.debug("Device start failure", e);
            Device java = Backends.fallback().devices().get(0).asAutomatic();
            return new ScaledDotProduct(heads, kvHeads, headDim, options, java,
                    Backends.fallback().openProjected(heads, kvHeads, headDim, options, java, null));
        }
    }

    /**
     * One call. Shapes are checked first; nothing reaches the device for a bad input. B = 0 or N = 0
     * returns empty arrays.
     *
     * @param input the queries, keys, values and masks of this call
     * @return heads_out {@code [B, N, H*dk]} (the same memory order as {@code [B, N, H, dk]}) and, when
     *         asked for, the weights {@code [B, H, N, M]}, {@code lse} and {@code key_mass}
     * @throws IllegalArgumentException {@code input} is null, a shape does not match the heads, or a
     *                                  buffer exceeds the device's maximum allocation or memory
     * @throws IllegalStateException    this object is closed
     * @throws ClattnException          the device failed
     */
    public AttentionOutput forward(ProjectedInput input) {
        Shapes.notNull("input", input);
        input.validate(heads, kvHeads, headDim);
        if (closed) {
            throw new IllegalStateException("ScaledDotProduct is closed: open a new one to compute again");
        }
        if (input.isEmpty()) {
            return new AttentionOutput(input.batch(), input.queryLength(), input.keyLength(), heads, headDim, 0,
                    new float[0], null, input.returnWeights() ? new float[0] : null, "empty", null);
        }
        return backend.forward(input);
    }

    /**
     * A {@link KvCache} without projections on this object's device, with its heads and options
     * ({@link KvCache#append}, {@link KvCache#attend}). Close the cache before this object: closing
     * this object closes it (later calls on it throw).
     *
     * @param batch    B, the number of sequences
     * @param capacity the most positions each sequence can hold
     * @return an empty cache; close it
     * @throws IllegalArgumentException a size is not positive, or the cache exceeds the device's
     *                                  maximum allocation
     * @throws IllegalStateException    this object is closed
     * @throws ClattnException          the device could not allocate the cache
     */
    public KvCache openCache(int batch, int capacity) {
        return openCache(batch, capacity, false);
    }

    KvCache openCache(int batch, int capacity, boolean ownsThis) {
        KvCache.checkSizes(batch, capacity);
        if (closed) {
            throw new IllegalStateException("ScaledDotProduct is closed");
        }
        KvCache cache = new KvCache(backend.openCache(batch, capacity), ownsThis ? backend : null, batch, capacity,
                heads, kvHeads, headDim, 0);
        return ownsThis ? cache : caches.add(cache);
    }

    /** {@return the device this object runs on (the Java path after an automatic fallback)} */
    public Device device() {
        return device;
    }

    /** {@return the options this object was opened with} */
    public AttentionOptions options() {
        return options;
    }

    /**
     * Closes the caches opened from this object that are still open, then releases the device
     * objects; later calls throw {@link IllegalStateException}. Idempotent.
     */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                caches.closeAll(OpenCaches.closedOwner("ScaledDotProduct"));
            } finally {
                backend.close();
            }
        }
    }
}
