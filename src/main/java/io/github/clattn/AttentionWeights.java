package io.github.clattn;

import io.github.clattn.core.Shapes;

/**
 * The learned tensors of one multi-head attention layer, all row-major float32.
 *
 * <pre>
 *   w_q            [D, H*dk]     applied as x @ w; query head h owns columns h*dk .. (h+1)*dk-1
 *   w_k, w_v       [D, Hkv*dk]   Hkv key/value heads (Hkv divides H; Hkv = H unless set with
 *                                {@link Builder#kvHeads}); query head h reads K/V head h / (H/Hkv)
 *   b_q            [H*dk]        optional projection biases
 *   b_k, b_v       [Hkv*dk]
 *   w_o            [H*dk, D]     optional output projection, out = heads_out @ w_o + b_o
 *   b_o            [D]           optional, only with w_o
 * </pre>
 *
 * <p>Grouped-query attention (Llama, Mistral, Qwen) sets {@code Hkv < H}; multi-query attention
 * {@code Hkv = 1}. K and V are never repeated per query head, in memory or on a device.
 *
 * <p>Immutable and thread-safe: the builder copies every array, so later changes to the
 * caller's arrays have no effect; one instance may back any number of layers. Build with
 * {@link #builder(int, int, int)}.
 */
public final class AttentionWeights {
    private final int dModel;
    private final int heads;
    private final int headDim;
    private final int kvHeads;
    private final float[] wQ;
    private final float[] wK;
    private final float[] wV;
    private final float[] bQ;
    private final float[] bK;
    private final float[] bV;
    private final float[] wO;
    private final float[] bO;

    private AttentionWeights(Builder b) {
        this.dModel = b.dModel;
        this.heads = b.heads;
        this.headDim = b.headDim;
        this.kvHeads = b.kvHeads == 0 ? b.heads : b.kvHeads;
        if (kvHeads < 1 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("kvHeads: expected a divisor of heads=" + heads + " (query head h reads "
                    + "K/V head h / (H/Hkv)), got " + kvHeads);
        }
        int hd = Shapes.arrayLength("heads*headDim", "[H*dk]", heads, headDim);
        int kvd = kvHeads * headDim;
        int proj = Shapes.arrayLength("w_q", "[D, H*dk]", dModel, hd);
        int kvProj = Shapes.arrayLength("w_k", "[D, Hkv*dk]", dModel, kvd);
        String projShape = "[D=" + dModel + ", H*dk=" + heads + "*" + headDim + "]";
        String kvShape = kvHeads == heads ? projShape : "[D=" + dModel + ", Hkv*dk=" + kvHeads + "*" + headDim + "]";
        this.wQ = Shapes.length("w_q", b.wQ, proj, projShape).clone();
        this.wK = Shapes.length("w_k", b.wK, kvProj, kvShape).clone();
        this.wV = Shapes.length("w_v", b.wV, kvProj, kvShape).clone();
        String biasShape = "[H*dk=" + hd + "]";
        String kvBiasShape = kvHeads == heads ? biasShape : "[Hkv*dk=" + kvd + "]";
        this.bQ = copy(Shapes.optionalLength("b_q", b.bQ, hd, biasShape));
        this.bK = copy(Shapes.optionalLength("b_k", b.bK, kvd, kvBiasShape));
        this.bV = copy(Shapes.optionalLength("b_v", b.bV, kvd, kvBiasShape));
        this.wO = copy(Shapes.optionalLength("w_o", b.wO, proj, "[H*dk=" + hd + ", D=" + dModel + "]"));
        if (b.bO != null && b.wO == null) {
            throw new IllegalArgumentException("b_o: given without w_o; an output bias needs the output projection");
        }
        this.bO = copy(Shapes.optionalLength("b_o", b.bO, dModel, "[D=" + dModel + "]"));
    }

    private static float[] copy(float[] a) {
        return a == null ? null : a.clone();
    }

    /**
     * Starts a builder for model width {@code dModel}, {@code heads} heads of {@code headDim} each.
     *
     * @param dModel  D, the width of x, context and out
     * @param heads   H, the query heads
     * @param headDim dk, the width of one head
     * @return a builder
     * @throws IllegalArgumentException a size is not positive
     */
    public static Builder builder(int dModel, int heads, int headDim) {
        return new Builder(dModel, heads, headDim);
    }

    /** {@return D, the model width: the last dimension of x, context and out} */
    public int dModel() {
        return dModel;
    }

    /** {@return H, the number of query heads} */
    public int heads() {
        return heads;
    }

    /** {@return dk, the width of one head} */
    public int headDim() {
        return headDim;
    }

    /** {@return H*dk, the width of Q and heads_out} */
    public int projectedDim() {
        return heads * headDim;
    }

    /** {@return Hkv, the key/value heads (equal to {@link #heads()} unless grouped-query attention)} */
    public int kvHeads() {
        return kvHeads;
    }

    /** {@return Hkv*dk, the width of K and V} */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** {@return whether the layer has an output projection w_o (then a forward call returns {@code out})} */
    public boolean hasOutputProjection() {
        return wO != null;
    }

    // The accessors below return the internal arrays without copying: backends read them, and
    // nobody may write them.

    /** {@return {@code w_q [D, H*dk]}; the internal array, not a copy: do not write it} */
    public float[] wQ() {
        return wQ;
    }

    /** {@return {@code w_k [D, Hkv*dk]}; the internal array, not a copy: do not write it} */
    public float[] wK() {
        return wK;
    }

    /** {@return {@code w_v [D, Hkv*dk]}; the internal array, not a copy: do not write it} */
    public float[] wV() {
        return wV;
    }

    /** {@return {@code b_q [H*dk]}, or null; the internal array, not a copy: do not write it} */
    public float[] bQ() {
        return bQ;
    }

    /** {@return {@code b_k [Hkv*dk]}, or null; the internal array, not a copy: do not write it} */
    public float[] bK() {
        return bK;
    }

    /** {@return {@code b_v [Hkv*dk]}, or null; the internal array, not a copy: do not write it} */
    public float[] bV() {
        return bV;
    }

    /** {@return {@code w_o [H*dk, D]}, or null; the internal array, not a copy: do not write it} */
    public float[] wO() {
        return wO;
    }

    /** {@return {@code b_o [D]}, or null; the internal array, not a copy: do not write it} */
    public float[] bO() {
        return bO;
    }

    /** Collects the tensors; {@link #build()} checks every length against D, H and dk. */
    public static final class Builder {
        private final int dModel;
        private final int heads;
        private final int headDim;
        private int kvHeads;
        private float[] wQ;
        private float[] wK;
        private float[] wV;
        private float[] bQ;
        private float[] bK;
        private float[] bV;
        private float[] wO;
        private float[] bO;

        private Builder(int dModel, int heads, int headDim) {
            this.dModel = Shapes.positive("dModel", dModel);
            this.heads = Shapes.positive("heads", heads);
            this.headDim = Shapes.positive("headDim", headDim);
        }

        /**
         * Grouped-query attention: {@code kvHeads} key/value heads, a divisor of the query heads
         * (1: multi-query attention). W_K and W_V are then {@code [D, Hkv*dk]}, b_k and b_v
         * {@code [Hkv*dk]}. Default: as many as the query heads.
         *
         * @param kvHeads Hkv; {@link #build()} checks that it divides H
         * @return this builder
         * @throws IllegalArgumentException {@code kvHeads} is not positive
         */
        public Builder kvHeads(int kvHeads) {
            this.kvHeads = Shapes.positive("kvHeads", kvHeads);
            return this;
        }

        /**
         * The three projection matrices (required), applied as {@code x @ w}.
         *
         * @param wQ {@code w_q [D, H*dk]} row-major; query head h owns columns {@code h*dk .. (h+1)*dk-1}
         * @param wK {@code w_k [D, Hkv*dk]} row-major
         * @param wV {@code w_v [D, Hkv*dk]} row-major
         * @return this builder
         */
        public Builder projections(float[] wQ, float[] wK, float[] wV) {
            this.wQ = wQ;
            this.wK = wK;
            this.wV = wV;
            return this;
        }

        /**
         * Optional projection biases; any may be null.
         *
         * @param bQ {@code b_q [H*dk]}, or null
         * @param bK {@code b_k [Hkv*dk]}, or null
         * @param bV {@code b_v [Hkv*dk]}, or null
         * @return this builder
         */
        public Builder projectionBiases(float[] bQ, float[] bK, float[] bV) {
            this.bQ = bQ;
            this.bK = bK;
            this.bV = bV;
            return this;
        }

        /**
         * Optional output projection, {@code out = heads_out @ w_o + b_o}.
         *
         * @param wO {@code w_o [H*dk, D]} row-major, or null for none
         * @param bO {@code b_o [D]}, or null; only with {@code wO}
         * @return this builder
         */
        public Builder outputProjection(float[] wO, float[] bO) {
            this.wO = wO;
            this.bO = bO;
            return this;
        }

        /**
         * {@return the weights, with every array copied}
         *
         * @throws IllegalArgumentException a projection is missing, an array's length does not match
         *                                  its shape, {@code kvHeads} does not divide the heads,
         *                                  {@code b_o} is given without {@code w_o}, or a shape
         *                                  overflows a Java array; the message names the tensor
         */
        public AttentionWeights build() {
            return new AttentionWeights(this);
        }
    }
}
