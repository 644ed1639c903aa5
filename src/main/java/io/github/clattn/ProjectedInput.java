package io.github.clattn;

import io.github.clattn.core.Shapes;

/**
 * One call of {@link ScaledDotProduct}: queries, keys and values the caller has projected
 * itself, row-major float32.
 *
 * <pre>
 *   q              [B, N, H, dk]     query row i of batch b, head h at ((b*N + i)*H + h)*dk
 *   k, v           [B, M, Hkv, dk]   key/value j of batch b, K/V head g at ((b*M + j)*Hkv + g)*dk
 *   keyValidLength [B]               optional; keys j >= keyValidLength[b] are masked
 *   attnBias       [N, M]            optional additive mask on the scaled scores
 * </pre>
 *
 * Query row {@code i} is at position {@code i + (M - N)} and key {@code j} at {@code j}: the
 * causal rule and the rotary embedding use these positions. The arrays are not copied: do not
 * change them while a call that uses them runs. Shapes are checked against the heads by
 * {@link #validate(int, int, int)}, which every call runs before it touches a device.
 */
public final class ProjectedInput {
    private final int batch;
    private final int queryLength;
    private final int keyLength;
    private final float[] q;
    private final float[] k;
    private final float[] v;
    private final int[] keyValidLength;
    private final float[] attnBias;
    private final boolean returnWeights;
    private final boolean returnLse;
    private final boolean returnKeyMass;

    private ProjectedInput(Builder b) {
        this.batch = Shapes.nonNegative("batch", b.batch);
        this.queryLength = Shapes.nonNegative("queryLength", b.queryLength);
        this.keyLength = Shapes.nonNegative("keyLength", b.keyLength);
        this.q = Shapes.notNull("q", b.q);
        this.k = Shapes.notNull("k", b.k);
        this.v = Shapes.notNull("v", b.v);
        this.keyValidLength = b.keyValidLength;
        this.attnBias = b.attnBias;
        this.returnWeights = b.returnWeights;
        this.returnLse = b.returnLse;
        this.returnKeyMass = b.returnKeyMass;
    }

    /**
     * Starts a call on queries {@code q [batch, queryLength, H, dk]} and keys and values
     * {@code [batch, keyLength, Hkv, dk]}, all row-major. Sizes are checked by {@link Builder#build()}.
     *
     * @param q           the queries, {@code [B, N, H, dk]}
     * @param k           the keys, {@code [B, M, Hkv, dk]}
     * @param v           the values, {@code [B, M, Hkv, dk]}
     * @param batch       B, at least 0
     * @param queryLength N, at least 0
     * @param keyLength   M, at least 0 (positive when B and N are)
     * @return a builder
     */
    public static Builder builder(float[] q, float[] k, float[] v, int batch, int queryLength, int keyLength) {
        return new Builder(q, k, v, batch, queryLength, keyLength);
    }

    /**
     * Checks every array against {@code heads}, {@code kvHeads} and {@code headDim}.
     * {@link ScaledDotProduct#forward} runs it.
     *
     * @param heads   H, the query heads
     * @param kvHeads Hkv, the key/value heads
     * @param headDim dk, the width of one head
     * @return this input
     * @throws IllegalArgumentException an array's length does not match its shape, M = 0 for a
     *                                  non-empty query, a key valid length is outside {@code [0, M]},
     *                                  or the requested weights would not fit in a Java array; the message
     *                                  names the argument and both values
     */
    public ProjectedInput validate(int heads, int kvHeads, int headDim) {
        String bn = "[B=" + batch + ", N=" + queryLength;
        Shapes.length("q", q, Shapes.arrayLength("q", "[B, N, H, dk]", batch, queryLength, heads, headDim),
                bn + ", H=" + heads + ", dk=" + headDim + "]");
        String kvShape = "[B=" + batch + ", M=" + keyLength + ", Hkv=" + kvHeads + ", dk=" + headDim + "]";
        int kv = Shapes.arrayLength("k", "[B, M, Hkv, dk]", batch, keyLength, kvHeads, headDim);
        Shapes.length("k", k, kv, kvShape);
        Shapes.length("v", v, kv, kvShape);
        if (keyLength == 0 && batch > 0 && queryLength > 0) {
            throw new IllegalArgumentException("keyLength: expected a positive number of keys for a non-empty query, got 0");
        }
        AttentionInput.checkMasks(batch, queryLength, keyLength, keyValidLength, attnBias);
        if (returnWeights) {
            Shapes.arrayLength("weights", "[B, H, N, M]", batch, heads, queryLength, keyLength);
        }
        return this;
    }

    /** {@return B, the batch size} */
    public int batch() {
        return batch;
    }

    /** {@return N, the query rows per batch row} */
    public int queryLength() {
        return queryLength;
    }

    /** {@return M, the number of keys} */
    public int keyLength() {
        return keyLength;
    }

    /** {@return the queries {@code [B, N, H, dk]} (not a copy)} */
    public float[] q() {
        return q;
    }

    /** {@return the keys {@code [B, M, Hkv, dk]} (not a copy)} */
    public float[] k() {
        return k;
    }

    /** {@return the values {@code [B, M, Hkv, dk]} (not a copy)} */
    public float[] v() {
        return v;
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
     * Collects one call's arrays and flags; q, k, v and the sizes are required. Not thread-safe;
     * {@link #build()} may be called more than once.
     */
    public static final class Builder {
        private final float[] q;
        private final float[] k;
        private final float[] v;
        private final int batch;
        private final int queryLength;
        private final int keyLength;
        private int[] keyValidLength;
        private float[] attnBias;
        private boolean returnWeights;
        private boolean returnLse;
        private boolean returnKeyMass;

        private Builder(float[] q, float[] k, float[] v, int batch, int queryLength, int keyLength) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.batch = batch;
            this.queryLength = queryLength;
            this.keyLength = keyLength;
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
         * {@return the input} Shapes against the heads are checked later, by the call.
         *
         * @throws IllegalArgumentException {@code q}, {@code k} or {@code v} is null, or a size is negative
         */
        public ProjectedInput build() {
            return new ProjectedInput(this);
        }
    }
}
