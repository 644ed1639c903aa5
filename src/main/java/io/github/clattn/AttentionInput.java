package io.github.clattn;

import io.github.clattn.core.Shapes;

/**
 * The activations of one forward call, row-major float32.
 *
 * <pre>
 *   x              [B, N, D]   queries' embeddings (self-attention: also keys and values)
 *   context        [B, M, D]   optional keys' and values' embeddings (cross-attention); absent: M = N, context = x
 *   keyValidLength [B]         optional; keys j >= keyValidLength[b] are masked for batch row b
 *   attnBias       [N, M]      optional additive mask, added to the scaled scores, shared by batch and heads
 * </pre>
 *
 * The arrays are not copied: do not change them while a call that uses them runs. Shapes are
 * checked against the layer by {@link #validate(int)}, which every forward call runs before it
 * touches a device. Immutable apart from those arrays, so safe to share between threads; build
 * one with {@link #builder(float[], int, int)}.
 */
public final class AttentionInput {
    private final int batch;
    private final int queryLength;
    private final int contextLength;
    private final float[] x;
    private final float[] context;
    private final int[] keyValidLength;
    private final float[] attnBias;
    private final boolean returnWeights;
    private final boolean returnLse;
    private final boolean returnKeyMass;

    private AttentionInput(Builder b) {
        this.batch = Shapes.nonNegative("batch", b.batch);
        this.queryLength = Shapes.nonNegative("queryLength", b.queryLength);
        this.x = Shapes.notNull("x", b.x);
        this.context = b.context;
        if (b.context != null) {
            this.contextLength = Shapes.nonNegative("contextLength", b.contextLength);
        } else {
            if (b.contextLength >= 0 && b.contextLength != b.queryLength) {
                throw new IllegalArgumentException("contextLength: given as " + b.contextLength
                        + " without a context array; self-attention needs contextLength = queryLength = " + b.queryLength);
            }
            this.contextLength = b.queryLength;
        }
        this.keyValidLength = b.keyValidLength;
        this.attnBias = b.attnBias;
        this.returnWeights = b.returnWeights;
        this.returnLse = b.returnLse;
        this.returnKeyMass = b.returnKeyMass;
    }

    /**
     * Starts a call on {@code x [batch, queryLength, D]}: self-attention unless
     * {@link Builder#context} is set. Sizes are checked by {@link Builder#build()}.
     *
     * @param x           the queries' embeddings, {@code [B, N, D]} row-major
     * @param batch       B, at least 0
     * @param queryLength N, at least 0
     * @return a builder
     */
    public static Builder builder(float[] x, int batch, int queryLength) {
        return new Builder(x, batch, queryLength);
    }

    /** {@return a builder holding everything this call has, to change some of it} */
    public Builder toBuilder() {
        Builder b = new Builder(x, batch, queryLength).keyValidLength(keyValidLength).attnBias(attnBias)
                .returnWeights(returnWeights).returnLse(returnLse).returnKeyMass(returnKeyMass);
        return context != null ? b.context(context, contextLength) : b;
    }

    /**
     * Checks every array against the layer width {@code dModel}. {@link Attention#forward} runs it.
     *
     * @param dModel the layer's model width D
     * @return this input
     * @throws IllegalArgumentException an array's length does not match its shape, a key valid
     *                                  length is outside {@code [0, M]}, an empty context has a
     *                                  non-empty query, or a requested output would not fit in a Java
     *                                  array; the message names the argument and both values
     */
    public AttentionInput validate(int dModel) {
        String b = "B=" + batch;
        Shapes.length("x", x, Shapes.arrayLength("x", "[B, N, D]", batch, queryLength, dModel),
                "[" + b + ", N=" + queryLength + ", D=" + dModel + "]");
        if (context != null) {
            Shapes.length("context", context, Shapes.arrayLength("context", "[B, M, D]", batch, contextLength, dModel),
                    "[" + b + ", M=" + contextLength + ", D=" + dModel + "]");
            if (contextLength == 0 && batch > 0 && queryLength > 0) {
                throw new IllegalArgumentException("contextLength: expected a positive length for a non-empty query, got 0");
            }
        }
        checkMasks(batch, queryLength, contextLength, keyValidLength, attnBias);
        if (returnWeights) {
            Shapes.arrayLength("weights", "[B, H, N, M]", batch, queryLength, contextLength);
        }
        if (returnKeyMass) {
            Shapes.arrayLength("keyMass", "[B, H, M]", batch, contextLength);
        }
        return this;
    }

    /** The key valid lengths ([B], each in [0, M]) and the additive bias ([N, M]), when given. */
    static void checkMasks(int batch, int queryLength, int contextLength, int[] keyValidLength, float[] attnBias) {
        if (keyValidLength != null) {
            if (keyValidLength.length != batch) {
                throw new IllegalArgumentException("keyValidLength: expected " + batch + " entries (one per batch row), got "
                        + keyValidLength.length);
            }
            for (int i = 0; i < batch; i++) {
                if (keyValidLength[i] < 0 || keyValidLength[i] > contextLength) {
                    throw new IllegalArgumentException("keyValidLength[" + i + "]: expected a value in [0, M=" + contextLength
                            + "], got " + keyValidLength[i]);
                }
            }
        }
        if (attnBias != null) {
            Shapes.length("attnBias", attnBias, Shapes.arrayLength("attnBias", "[N, M]", queryLength, contextLength),
                    "[N=" + queryLength + ", M=" + contextLength + "]");
        }
    }

    /**
     * How many keys query {@code query} of batch row {@code batch} may see. Both masks hide a suffix
     * of the keys, so the visible keys are always the prefix {@code [0, end)}:
     * {@code end = min(M, query + (M - N) + 1 if causal, keyValidLength[batch])}, at least 0.
     * Windows are not counted.
     *
     * @param queryLength    N
     * @param contextLength  M
     * @param causal         whether the causal rule applies
     * @param keyValidLength {@code [B]} valid key lengths, or null for none
     * @param batch          the batch row b
     * @param query          the query row i
     * @return {@code end}, in {@code [0, M]}
     */
    public static int visibleKeys(int queryLength, int contextLength, boolean causal, int[] keyValidLength, int batch,
                                  int query) {
        long end = contextLength;
        if (causal) {
            end = Math.min(end, query + (long) (contextLength - queryLength) + 1);
        }
        if (keyValidLength != null) {
            end = Math.min(end, keyValidLength[batch]);
        }
        return (int) Math.max(end, 0);
    }

    /** {@return B, the batch size} */
    public int batch() {
        return batch;
    }

    /** {@return N, the number of query rows per batch row} */
    public int queryLength() {
        return queryLength;
    }

    /** {@return M, the number of keys (N for self-attention)} */
    public int contextLength() {
        return contextLength;
    }

    /** {@return the queries' embeddings {@code [B, N, D]} (not a copy)} */
    public float[] x() {
        return x;
    }

    /** {@return the keys' and values' embeddings {@code [B, M, D]} (not a copy), or null for self-attention} */
    public float[] context() {
        return context;
    }

    /** {@return {@link #context()} or, for self-attention, {@link #x()}} */
    public float[] keyValueSource() {
        return context != null ? context : x;
    }

    /** {@return whether keys and values come from a separate {@link #context()}} */
    public boolean isCrossAttention() {
        return context != null;
    }

    /** {@return the valid key length per batch row {@code [B]} (not a copy), or null for none} */
    public int[] keyValidLength() {
        return keyValidLength;
    }

    /** {@return the additive mask {@code [N, M]} (not a copy), or null for none} */
    public float[] attnBias() {
        return attnBias;
    }

    /** {@return whether the call asks for the attention probabilities {@code [B, H, N, M]}} */
    public boolean returnWeights() {
        return returnWeights;
    }

    /** {@return whether the call asks for each row's log-sum-exp {@code lse [B, H, N]}} */
    public boolean returnLse() {
        return returnLse;
    }

    /** {@return whether the call asks for the attention each key received, {@code key_mass [B, H, M]}} */
    public boolean returnKeyMass() {
        return returnKeyMass;
    }

    /** {@return whether B = 0 or N = 0 (the call returns empty arrays without touching a device)} */
    public boolean isEmpty() {
        return batch == 0 || queryLength == 0;
    }

    /**
     * Collects one call's arrays and flags; only x, batch and queryLength are required. Not
     * thread-safe; {@link #build()} may be called more than once.
     */
    public static final class Builder {
        private final float[] x;
        private final int batch;
        private final int queryLength;
        private float[] context;
        private int contextLength = -1;
        private int[] keyValidLength;
        private float[] attnBias;
        private boolean returnWeights;
        private boolean returnLse;
        private boolean returnKeyMass;

        private Builder(float[] x, int batch, int queryLength) {
            this.x = x;
            this.batch = batch;
            this.queryLength = queryLength;
        }

        /**
         * Cross-attention: keys and values from {@code context [B, contextLength, D]}.
         *
         * @param context       the keys' and values' embeddings, row-major
         * @param contextLength M, at least 0 (positive when B and N are)
         * @return this builder
         * @throws IllegalArgumentException {@code context} is null
         */
        public Builder context(float[] context, int contextLength) {
            this.context = Shapes.notNull("context", context);
            this.contextLength = contextLength;
            return this;
        }

        /**
         * Key padding: keys {@code j >= keyValidLength[b]} are masked for batch row {@code b}.
         *
         * @param keyValidLength {@code [B]}, each in {@code [0, M]}; null for none. Not copied.
         * @return this builder
         */
        public Builder keyValidLength(int[] keyValidLength) {
            this.keyValidLength = keyValidLength;
            return this;
        }

        /**
         * An additive mask added to the scaled (and softcapped) scores, shared by batch rows and
         * heads; {@code -Infinity} hides a key.
         *
         * @param attnBias {@code [N, M]} row-major; null for none. Not copied.
         * @return this builder
         */
        public Builder attnBias(float[] attnBias) {
            this.attnBias = attnBias;
            return this;
        }

        /**
         * Also return the attention probabilities {@code [B, H, N, M]} (the sink excluded). This
         * materializes the N×M matrix: on OpenCL the call runs the staged path.
         *
         * @param returnWeights true to return them
         * @return this builder
         */
        public Builder returnWeights(boolean returnWeights) {
            this.returnWeights = returnWeights;
            return this;
        }

        /**
         * Also return each row's softmax normalizer {@code lse [B, H, N]}: {@code m + log(denom)}, natural
         * log, the sink included; −∞ for a row with no visible key and no sink. Taken from the fused
         * path, with no N×M matrix.
         *
         * @param returnLse true to return it
         * @return this builder
         */
        public Builder returnLse(boolean returnLse) {
            this.returnLse = returnLse;
            return this;
        }

        /**
         * Also return {@code key_mass [B, H, M]}: the sum over query rows of the probability each key
         * received (KV-cache eviction: H2O, SnapKV). Computed without an N×M matrix by a second pass
         * over the keys that recomputes the scores (about one more attention pass).
         *
         * @param returnKeyMass true to return it
         * @return this builder
         */
        public Builder returnKeyMass(boolean returnKeyMass) {
            this.returnKeyMass = returnKeyMass;
            return this;
        }

        /**
         * {@return the input} Shapes against the layer are checked later, by the forward call.
         *
         * @throws IllegalArgumentException {@code x} is null, a size is negative, or a
         *                                  {@code contextLength} was given without a context array
         */
        public AttentionInput build() {
            return new AttentionInput(this);
        }
    }
}
