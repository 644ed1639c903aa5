package io.github.clattn;

import io.github.clattn.core.Shapes;

/**
 * The learned tensors of one multi-head attention layer, all row-major float32.
 *
 * <pre>
 *   w_q, w_k, w_v  [D, H*dk]   applied as x @ w; head h owns columns h*dk .. (h+1)*dk-1
 *   b_q, b_k, b_v  [H*dk]      optional projection biases
 *   w_o            [H*dk, D]   optional output projection, out = heads_out @ w_o + b_o
 *   b_o            [D]         optional, only with w_o
 * </pre>
 *
 * Immutable: the builder copies every array, so later changes to the caller's arrays have no
 * effect. Build with {@link #builder(int, int, int)}.
 */
public final class AttentionWeights {
    private final int dModel;
    private final int heads;
    private final int headDim;
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
        int hd = Shapes.arrayLength("heads*headDim", "[H*dk]", heads, headDim);
        int proj = Shapes.arrayLength("w_q", "[D, H*dk]", dModel, hd);
        String projShape = "[D=" + dModel + ", H*dk=" + heads + "*" + headDim + "]";
        this.wQ = Shapes.length("w_q", b.wQ, proj, projShape).clone();
        this.wK = Shapes.length("w_k", b.wK, proj, projShape).clone();
        this.wV = Shapes.length("w_v", b.wV, proj, projShape).clone();
        String biasShape = "[H*dk=" + hd + "]";
        this.bQ = copy(Shapes.optionalLength("b_q", b.bQ, hd, biasShape));
        this.bK = copy(Shapes.optionalLength("b_k", b.bK, hd, biasShape));
        this.bV = copy(Shapes.optionalLength("b_v", b.bV, hd, biasShape));
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

    /** H*dk, the width of Q, K, V and heads_out. */
    public int projectedDim() {
        return heads * headDim;
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

        /** The three projection matrices, each {@code [D, H*dk]}. */
        public Builder projections(float[] wQ, float[] wK, float[] wV) {
            this.wQ = wQ;
            this.wK = wK;
            this.wV = wV;
            return this;
        }

        /** Optional projection biases, each {@code [H*dk]}; any may be null. */
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
