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
 * weights are asked for). Thread-safe; close it to release the device.
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

    private ScaledDotProduct(int heads, int kvHeads, int headDim, AttentionOptions options, Device device,
                             ProjectedBackend backend) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.options = options;
        this.device = device;
        this.backend = backend;
    }

    /** On the automatically chosen device. */
    public static ScaledDotProduct open(int heads, int kvHeads, int headDim, AttentionOptions options) {
        return open(heads, kvHeads, headDim, options, Devices.auto());
    }

    /** On the device a spec names (see {@link Devices#select(String)}). */
    public static ScaledDotProduct open(int heads, int kvHeads, int headDim, AttentionOptions options, String deviceSpec) {
        return open(heads, kvHeads, headDim, options, Devices.select(deviceSpec));
    }

    /**
     * On {@code device}. An automatically chosen OpenCL device that fails to start falls back to the
     * Java path with one WARN.
     *
     * @throws IllegalArgumentException a size is not positive, {@code kvHeads} does not divide
     *                                  {@code heads}, or an option does not fit the head width
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
     * @return heads_out {@code [B, N, H*dk]} (the same memory order as {@code [B, N, H, dk]}) and, when
     *         asked for, the weights {@code [B, H, N, M]}
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

    /** A {@link KvCache} without projections on this object's device. */
    public KvCache openCache(int batch, int capacity) {
        return openCache(batch, capacity, false);
    }

    KvCache openCache(int batch, int capacity, boolean ownsThis) {
        KvCache.checkSizes(batch, capacity);
        if (closed) {
            throw new IllegalStateException("ScaledDotProduct is closed");
        }
        return new KvCache(backend.openCache(batch, capacity), ownsThis ? backend : null, batch, capacity, heads,
                kvHeads, headDim, 0);
    }

    public Device device() {
        return device;
    }

    public AttentionOptions options() {
        return options;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            backend.close();
        }
    }
}
