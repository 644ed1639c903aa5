package io.github.clattn;

import java.util.Arrays;
import java.util.Objects;

/**
 * Fixed behaviour of an attention layer (or of a {@link ScaledDotProduct} or {@link KvCache}).
 * Immutable; start from {@link #DEFAULT} or {@link #causal(boolean)} and add with the
 * {@code with...} methods. For query row i at position {@code p_i = i + (M - N)} and key j, in
 * this order:
 *
 * <pre>
 *   s = scale · q·k                                   scale(): NaN means 1/sqrt(dk)
 *   s = C · tanh(s / C)                               softcap(): C, or 0 for none (Gemma 2, Grok)
 *   s += attn_bias[i, j]                              per call, {@link AttentionInput}
 *   s -= slope_h · |p_i − j|                          alibiSlopes(): [H], or null (MPT, BLOOM)
 *   visible: j &lt; key_valid_len[b], j &lt;= p_i (causal),
 *            j >= p_i − left (left >= 0), j &lt;= p_i + right (right >= 0)      window(): FlashAttention's rule
 *   softmax over the visible keys, with sinks[h] as one more logit in the denominator that has no
 *   value (gpt-oss); a row with no visible key gives zeros
 * </pre>
 *
 * Queries and keys are rotated first when {@link #rope()} is set. The window, softcap, ALiBi and
 * sinks run inside the kernels: key blocks outside a window are never visited. Options whose size
 * depends on the layer (RoPE width, ALiBi slopes and sinks of length H) are checked when a layer
 * opens ({@link #validateFor}). Immutable and thread-safe; arrays are copied in and out.
 */
public final class AttentionOptions {

    /** Not causal, default scale, no rotary embedding, no modifiers. */
    public static final AttentionOptions DEFAULT = new AttentionOptions(false, Double.NaN);

    private final boolean causal;
    private final double scale;
    private final Rope rope;
    private final int windowLeft;
    private final int windowRight;
    private final double softcap;
    private final float[] alibiSlopes;
    private final float[] sinks;

    /**
     * Options with the causal rule and the scale given, and nothing else.
     *
     * @param causal query {@code i} sees key {@code j} only if {@code j <= i + (M - N)}
     * @param scale  factor applied to {@code q·k}; {@code NaN} means the default {@code 1/sqrt(dk)}
     * @throws IllegalArgumentException {@code scale} is 0 or infinite
     */
    public AttentionOptions(boolean causal, double scale) {
        this(causal, scale, null, -1, -1, 0, null, null);
    }

    private AttentionOptions(boolean causal, double scale, Rope rope, int windowLeft, int windowRight, double softcap,
                             float[] alibiSlopes, float[] sinks) {
        if (!Double.isNaN(scale) && (Double.isInfinite(scale) || scale == 0.0)) {
            throw new IllegalArgumentException("scale: expected a finite non-zero number (or NaN for 1/sqrt(dk)), got "
                    + scale);
        }
        this.causal = causal;
        this.scale = scale;
        this.rope = rope;
        this.windowLeft = windowLeft;
        this.windowRight = windowRight;
        this.softcap = softcap;
        this.alibiSlopes = alibiSlopes;
        this.sinks = sinks;
    }

    /**
     * {@return options with the causal rule given and the default scale {@code 1/sqrt(dk)}}
     *
     * @param causal query {@code i} sees key {@code j} only if {@code j <= i + (M - N)}
     */
    public static AttentionOptions causal(boolean causal) {
        return new AttentionOptions(causal, Double.NaN);
    }

    /** {@return whether query {@code i} sees only keys {@code j <= i + (M - N)}} */
    public boolean causal() {
        return causal;
    }

    /** {@return the score scale, NaN for the default {@code 1/sqrt(dk)}} */
    public double scale() {
        return scale;
    }

    /** {@return the rotary position embedding, or null for none} */
    public Rope rope() {
        return rope;
    }

    /** {@return how many keys before its own position a query may see, or -1 for no limit} */
    public int windowLeft() {
        return windowLeft;
    }

    /** {@return how many keys after its own position a query may see, or -1 for no limit} */
    public int windowRight() {
        return windowRight;
    }

    /** {@return the logit softcap C ({@code s = C·tanh(s/C)}), or 0 for none} */
    public double softcap() {
        return softcap;
    }

    /** {@return the ALiBi slope of each head ({@code [H]}, a copy), or null for none} */
    public float[] alibiSlopes() {
        return alibiSlopes == null ? null : alibiSlopes.clone();
    }

    /** {@return the sink logit of each head ({@code [H]}, a copy), or null for none} */
    public float[] sinks() {
        return sinks == null ? null : sinks.clone();
    }

    /** {@return whether a window limits the keys on either side} */
    public boolean hasWindow() {
        return windowLeft >= 0 || windowRight >= 0;
    }

    /**
     * {@return these options with the causal rule set}
     *
     * @param newCausal query {@code i} sees key {@code j} only if {@code j <= i + (M - N)}
     */
    public AttentionOptions withCausal(boolean newCausal) {
        return new AttentionOptions(newCausal, scale, rope, windowLeft, windowRight, softcap, alibiSlopes, sinks);
    }

    /**
     * {@return these options with another score scale}
     *
     * @param newScale factor applied to {@code q·k}; {@code NaN} means the default {@code 1/sqrt(dk)}
     * @throws IllegalArgumentException {@code newScale} is 0 or infinite
     */
    public AttentionOptions withScale(double newScale) {
        return new AttentionOptions(causal, newScale, rope, windowLeft, windowRight, softcap, alibiSlopes, sinks);
    }

    /**
     * {@return these options with a rotary embedding of queries and keys}
     *
     * @param newRope the rotation; null removes it. Its width is checked against dk when a layer opens.
     */
    public AttentionOptions withRope(Rope newRope) {
        return new AttentionOptions(causal, scale, newRope, windowLeft, windowRight, softcap, alibiSlopes, sinks);
    }

    /**
     * A sliding window (FlashAttention's {@code window_size=(left, right)}): query i at p_i sees key
     * j only if {@code j >= p_i - left} (when {@code left >= 0}) and {@code j <= p_i + right} (when
     * {@code right >= 0}); -1 means no limit on that side. Mistral and Gemma use {@code (W - 1, 0)}
     * with causal attention.
     *
     * @param left  keys visible before the query's position, or -1 for no limit
     * @param right keys visible after the query's position, or -1 for no limit
     * @return these options with the window; {@code (-1, -1)} removes it
     * @throws IllegalArgumentException a side is smaller than -1
     */
    public AttentionOptions withWindow(int left, int right) {
        if (left < -1 || right < -1) {
            throw new IllegalArgumentException("window: expected left and right >= -1 (-1: no limit), got (" + left
                    + ", " + right + ")");
        }
        return new AttentionOptions(causal, scale, rope, left, right, softcap, alibiSlopes, sinks);
    }

    /**
     * Logit softcapping {@code s = C·tanh(s / C)} after the scale (Gemma 2: 50, Grok: 30): scores stay
     * within ±C, so no exponent can overflow.
     *
     * @param c the cap C
     * @return these options with the softcap
     * @throws IllegalArgumentException {@code c} is not a finite number > 0
     */
    public AttentionOptions withSoftcap(double c) {
        if (!(c > 0) || Double.isInfinite(c)) {
            throw new IllegalArgumentException("softcap: expected a finite number > 0, got " + c);
        }
        return new AttentionOptions(causal, scale, rope, windowLeft, windowRight, c, alibiSlopes, sinks);
    }

    /**
     * ALiBi: {@code s -= slopes[h] · |p_i − j|} (see {@link #standardAlibiSlopes(int)}); null removes
     * it. The array is copied; its length is checked against the heads when a layer opens.
     *
     * @param slopes {@code [H]}, one slope per query head, or null
     * @return these options with the slopes
     * @throws IllegalArgumentException a slope is NaN or infinite
     */
    public AttentionOptions withAlibiSlopes(float[] slopes) {
        return new AttentionOptions(causal, scale, rope, windowLeft, windowRight, softcap,
                finite("alibiSlopes", slopes), sinks);
    }

    /**
     * Attention sinks (gpt-oss): {@code sinks[h]} joins the softmax's denominator of head h as a logit
     * with no value; null removes them. The array is copied; its length is checked against the heads
     * when a layer opens.
     *
     * @param newSinks {@code [H]}, one logit per query head, or null
     * @return these options with the sinks
     * @throws IllegalArgumentException a sink is NaN or infinite
     */
    public AttentionOptions withSinks(float[] newSinks) {
        return new AttentionOptions(causal, scale, rope, windowLeft, windowRight, softcap, alibiSlopes,
                finite("sinks", newSinks));
    }

    private static float[] finite(String name, float[] values) {
        if (values == null) {
            return null;
        }
        for (int h = 0; h < values.length; h++) {
            if (!Float.isFinite(values[h])) {
                throw new IllegalArgumentException(name + "[" + h + "]: expected a finite number, got " + values[h]);
            }
        }
        return values.clone();
    }

    /**
     * The ALiBi paper's slopes for {@code heads} heads: for a power of two n, head h gets
     * {@code 2^(-8(h+1)/n)}; otherwise the slopes of the largest power of two n below, followed by
     * every other slope of 2n, until there are {@code heads}.
     *
     * @param heads the number of query heads H
     * @return {@code [H]}, a new array
     * @throws IllegalArgumentException {@code heads} is not positive
     */
    public static float[] standardAlibiSlopes(int heads) {
        if (heads < 1) {
            throw new IllegalArgumentException("heads: expected a positive number of heads, got " + heads);
        }
        int n = Integer.highestOneBit(heads);
        float[] slopes = new float[heads];
        for (int h = 0; h < n; h++) {
            slopes[h] = (float) Math.pow(2, -8.0 * (h + 1) / n);
        }
        for (int h = n; h < heads; h++) {
            int k = 2 * (h - n); // every other slope of 2n heads: 1, 3, 5, ... (1-based) of 2^(-8(k+1)/(2n))
            slopes[h] = (float) Math.pow(2, -8.0 * (k + 1) / (2 * n));
        }
        return slopes;
    }

    /**
     * {@return the scale that applies to heads of width {@code headDim}: {@link #scale()}, or
     * {@code 1/sqrt(headDim)} when it is NaN}
     *
     * @param headDim the head width dk
     */
    public float effectiveScale(int headDim) {
        return (float) (Double.isNaN(scale) ? 1.0 / Math.sqrt(headDim) : scale);
    }

    /**
     * Checks the options against a layer of {@code heads} query heads of width {@code headDim}.
     * Opening a layer, a {@link ScaledDotProduct} or a {@link KvCache} runs it.
     *
     * @param heads   the number of query heads H
     * @param headDim the head width dk
     * @return these options
     * @throws IllegalArgumentException the RoPE width is odd or wider than dk, or the ALiBi slopes or
     *                                  sinks are not of length H; the message names the option
     */
    public AttentionOptions validateFor(int heads, int headDim) {
        if (rope != null) {
            rope.rotatedDims(headDim);
        }
        if (alibiSlopes != null && alibiSlopes.length != heads) {
            throw new IllegalArgumentException("alibiSlopes: expected " + heads + " slopes (one per head), got "
                    + alibiSlopes.length);
        }
        if (sinks != null && sinks.length != heads) {
            throw new IllegalArgumentException("sinks: expected " + heads + " sink logits (one per head), got "
                    + sinks.length);
        }
        return this;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttentionOptions a && a.causal == causal && Double.compare(a.scale, scale) == 0
                && Objects.equals(a.rope, rope) && a.windowLeft == windowLeft && a.windowRight == windowRight
                && Double.compare(a.softcap, softcap) == 0 && Arrays.equals(a.alibiSlopes, alibiSlopes)
                && Arrays.equals(a.sinks, sinks);
    }

    @Override
    public int hashCode() {
        return Objects.hash(causal, scale, rope, windowLeft, windowRight, softcap, Arrays.hashCode(alibiSlopes),
                Arrays.hashCode(sinks));
    }

    @Override
    public String toString() {
        return "AttentionOptions[causal=" + causal + ", scale=" + (Double.isNaN(scale) ? "1/sqrt(dk)" : scale)
                + (rope == null ? "" : ", rope=" + rope)
                + (hasWindow() ? ", window=(" + windowLeft + ", " + windowRight + ")" : "")
                + (softcap > 0 ? ", softcap=" + softcap : "")
                + (alibiSlopes == null ? "" : ", alibi=" + Arrays.toString(alibiSlopes))
                + (sinks == null ? "" : ", sinks=" + Arrays.toString(sinks)) + "]";
    }
}
