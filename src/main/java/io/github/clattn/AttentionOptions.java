package io.github.clattn;

import java.util.Objects;

/**
 * Fixed behaviour of an attention layer (or of a {@link ScaledDotProduct} or {@link KvCache}).
 * Immutable; start from {@link #DEFAULT} or {@link #causal(boolean)} and add with the
 * {@code with...} methods.
 *
 * <ul>
 *   <li>{@link #causal()}: query {@code i} sees key {@code j} only if {@code j <= i + (M - N)}
 *       (bottom-right aligned, as when decoding with a key/value cache);</li>
 *   <li>{@link #scale()}: the factor applied to {@code q·k}; {@code NaN} means {@code 1/sqrt(dk)};</li>
 *   <li>{@link #rope()}: rotary position embedding of queries and keys, or null.</li>
 * </ul>
 */
public final class AttentionOptions {

    /** Not causal, default scale, no rotary embedding. */
    public static final AttentionOptions DEFAULT = new AttentionOptions(false, Double.NaN);

    private final boolean causal;
    private final double scale;
    private final Rope rope;

    /**
     * @param causal query {@code i} sees key {@code j} only if {@code j <= i + (M - N)}
     * @param scale  factor applied to {@code q·k}; {@code NaN} means the default {@code 1/sqrt(dk)}
     */
    public AttentionOptions(boolean causal, double scale) {
        this(causal, scale, null);
    }

    private AttentionOptions(boolean causal, double scale, Rope rope) {
        if (!Double.isNaN(scale) && (Double.isInfinite(scale) || scale == 0.0)) {
            throw new IllegalArgumentException("scale: expected a finite non-zero number (or NaN for 1/sqrt(dk)), got "
                    + scale);
        }
        this.causal = causal;
        this.scale = scale;
        this.rope = rope;
    }

    public static AttentionOptions causal(boolean causal) {
        return new AttentionOptions(causal, Double.NaN);
    }

    public boolean causal() {
        return causal;
    }

    /** The score scale, NaN for the default {@code 1/sqrt(dk)}. */
    public double scale() {
        return scale;
    }

    /** The rotary position embedding, or null. */
    public Rope rope() {
        return rope;
    }

    public AttentionOptions withCausal(boolean newCausal) {
        return new AttentionOptions(newCausal, scale, rope);
    }

    public AttentionOptions withScale(double newScale) {
        return new AttentionOptions(causal, newScale, rope);
    }

    /** Rotary embedding of queries and keys (null: none). */
    public AttentionOptions withRope(Rope newRope) {
        return new AttentionOptions(causal, scale, newRope);
    }

    /** The scale that applies to heads of width {@code headDim}. */
    public float effectiveScale(int headDim) {
        return (float) (Double.isNaN(scale) ? 1.0 / Math.sqrt(headDim) : scale);
    }

    /**
     * Checks the options against a layer of {@code heads} query heads of width {@code headDim};
     * throws {@link IllegalArgumentException} naming the option.
     */
    public AttentionOptions validateFor(int heads, int headDim) {
        if (rope != null) {
            rope.rotatedDims(headDim);
        }
        return this;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttentionOptions a && a.causal == causal && Double.compare(a.scale, scale) == 0
                && Objects.equals(a.rope, rope);
    }

    @Override
    public int hashCode() {
        return Objects.hash(causal, scale, rope);
    }

    @Override
    public String toString() {
        return "AttentionOptions[causal=" + causal + ", scale=" + (Double.isNaN(scale) ? "1/sqrt(dk)" : scale)
                + (rope == null ? "" : ", rope=" + rope) + "]";
    }
}
