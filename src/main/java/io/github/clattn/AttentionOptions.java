package io.github.clattn;

/**
 * Fixed behaviour of an attention layer.
 *
 * @param causal query {@code i} sees key {@code j} only if {@code j <= i + (M - N)}
 *               (bottom-right aligned, as when decoding with a key/value cache)
 * @param scale  factor applied to {@code q·k}; {@code NaN} means the default {@code 1/sqrt(dk)}
 */
public record AttentionOptions(boolean causal, double scale) {

    /** Not causal, default scale. */
    public static final AttentionOptions DEFAULT = new AttentionOptions(false, Double.NaN);

    public AttentionOptions {
        if (!Double.isNaN(scale) && (Double.isInfinite(scale) || scale == 0.0)) {
            throw new IllegalArgumentException("scale: expected a finite non-zero number (or NaN for 1/sqrt(dk)), got " + scale);
        }
    }

    public static AttentionOptions causal(boolean causal) {
        return new AttentionOptions(causal, Double.NaN);
    }

    public AttentionOptions withScale(double newScale) {
        return new AttentionOptions(causal, newScale);
    }

    /** The scale that applies to heads of width {@code headDim}. */
    public float effectiveScale(int headDim) {
        return (float) (Double.isNaN(scale) ? 1.0 / Math.sqrt(headDim) : scale);
    }
}
