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
 * Immutable: the builder copies every array, so later changes to the caller's arrays have no
 * effect. Build with {@link #builder(int, int, int)}.
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

    /** Starts a builder for model width {@code dModel}, {@code heads} heads of {@code headDim} each. */
    public static Builder builder(int dModel, int heads, int headDim) {
        return new Builder(dModel, heads, headDim);
    }

    /** Model width D: the last dimension of x, context and out. */
    public int dModel() {
        return dModel;
    }

    /** Number of heads H. */
    public int heads() {
        return heads;
    }

    /** Width of one head dk. */
    public int headDim() {
        return headDim;
    }

    /** H*dk, the width of Q and heads_out. */
    public int projectedDim() {
        return heads * headDim;
    }

    /** Hkv, the key/value heads (equal to {@link #heads()} unless grouped-query attention). */
    public int kvHeads() {
        return kvHeads;
    }

    /** Hkv*dk, the width of K and V. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    public boolean hasOutputProjection() {
        return wO != null;
    }

    // The accessors below return the internal arrays without copying; backends read them and
    // must not write them.
    public float[] wQ() {
        return wQ;
    }

    public float[] wK() {
        return wK;
    }

    public float[] wV() {
        return wV;
    }

    public float[] bQ() {
        return bQ;
    }

    public float[] bK() {
        return bK;
    }

    public float[] bV() {
        return bV;
    }

    public float[] wO() {
        return wO;
    }

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
         */
        public Builder kvHeads(int kvHeads) {
            this.kvHeads = Shapes.positive("kvHeads", kvHeads);
            return this;
        }

        /** The three projection matrices: {@code w_q [D, H*dk]}, {@code w_k} and {@code w_v [D, Hkv*dk]}. */
        public Builder projections(float[] wQ, float[] wK, float[] wV) {
            this.wQ = wQ;
            this.wK = wK;
            this.wV = wV;
            return this;
        }

        /** Optional projection biases, {@code b_q [H*dk]}, {@code b_k} and {@code b_v [Hkv*dk]}; any may be null. */
        public Builder projectionBiases(float[] bQ, float[] bK, float[] bV) {
            this.bQ = bQ;
            this.bK = bK;
            this.bV = bV;
            return this;
        }

        /** Optional output projection {@code [H*dk, D]} and bias {@code [D]} (bias may be null). */
        public Builder outputProjection(float[] wO, float[] bO) {
            this.wO = wO;
            this.bO = bO;
            return this;
        }

        public AttentionWeights build() {
            return new AttentionWeights(this);
        }
    }
}
