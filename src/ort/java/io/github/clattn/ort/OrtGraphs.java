package io.github.clattn.ort;

import java.util.Arrays;

/**
 * The three ONNX graphs timed on ONNX Runtime, each computing
 * {@code heads_out [B, N, H·dk] = concat_h softmax(Q_h·K_hᵀ/√dk [+ causal mask])·V_h} with
 * {@code Q = x·W_Q}, {@code K = x·W_K}, {@code V = x·W_V} (no biases, no output projection).
 * Weights are initializers; the graph input is {@code x [B, N, D]} and the output {@code heads_out}.
 */
final class OrtGraphs {
    static final String INPUT = "x";
    static final String OUTPUT = "heads_out";

    /** The graphs, in the order they are timed. */
    enum Kind {
        /** (a) contrib {@code com.microsoft.Attention}: packed [D, 3·H·dk] weights, unidirectional=1 when causal. */
        ATTENTION("Attention", "com.microsoft.Attention, packed QKV weights"),
        /**
         * (b) three MatMuls + contrib {@code com.microsoft.MultiHeadAttention}; causal through an
         * additive attention_bias [1, 1, N, N] (0 on and below the diagonal, −∞ above).
         */
        MHA("MHA", "3 MatMul + com.microsoft.MultiHeadAttention"),
        /** (b) again, causal shapes only: causal through the op's own {@code unidirectional=1}. */
        MHA_UNIDIRECTIONAL("MHA unidir", "3 MatMul + com.microsoft.MultiHeadAttention with unidirectional=1"),
        /** (c) standard ONNX operators only (opset 17). */
        OPS("ONNX ops", "MatMul/Reshape/Transpose/MatMul/Mul/[Add]/Softmax/MatMul/Transpose/Reshape");

        final String label;
        final String description;

        Kind(String label, String description) {
            this.label = label;
            this.description = description;
        }

        String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** How graph (b) gets its causal mask. */
    enum MhaCausal {
        /** An additive attention_bias [1, 1, N, N]: 0 on and below the diagonal, −∞ above it. */
        BIAS,
        /** The op's own {@code unidirectional=1} attribute. */
        UNIDIRECTIONAL
    }

    private OrtGraphs() {
    }

    /** The problem every graph computes. Weights are [D, H·dk] row-major, used as x·W. */
    record Problem(int batch, int seq, int dModel, int heads, boolean causal, float[] wQ, float[] wK, float[] wV) {
        int headDim() {
            return dModel / heads;
        }

        int projected() {
            return heads * headDim();
        }
    }

    static byte[] build(Kind kind, Problem p) {
        switch (kind) {
            case ATTENTION:
                return attention(p);
            case MHA:
                return mha(p, MhaCausal.BIAS);
            case MHA_UNIDIRECTIONAL:
                return mha(p, MhaCausal.UNIDIRECTIONAL);
            case OPS:
                return plainOps(p);
            default:
                throw new IllegalArgumentException(kind.toString());
        }
    }

    private static Onnx.Graph withIo(String name, Problem p) {
        return new Onnx.Graph(name)
                .input(Onnx.tensorValueInfo(INPUT, Onnx.FLOAT, p.batch(), p.seq(), p.dModel()))
                .output(Onnx.tensorValueInfo(OUTPUT, Onnx.FLOAT, p.batch(), p.seq(), p.projected()));
    }

    private static long[] dims(long... d) {
        return d;
    }

    /** (a) Attention(x, W_qkv, 0) with W_qkv = [W_Q | W_K | W_V] along the columns and a zero bias. */
    static byte[] attention(Problem p) {
        int d = p.dModel();
        int hd = p.projected();
        float[] packed = new float[d * 3 * hd];
        for (int r = 0; r < d; r++) {
            System.arraycopy(p.wQ(), r * hd, packed, r * 3 * hd, hd);
            System.arraycopy(p.wK(), r * hd, packed, r * 3 * hd + hd, hd);
            System.arraycopy(p.wV(), r * hd, packed, r * 3 * hd + 2 * hd, hd);
        }
        // The schema marks bias optional, but ORT 1.23.2's CPU kernel dereferences it (SIGSEGV
        // without it): a zero bias is given.
        Onnx.Graph g = withIo("attention", p)
                .initializer(Onnx.floatTensor("w_qkv", dims(d, 3L * hd), packed))
                .initializer(Onnx.floatTensor("b_qkv", dims(3L * hd), new float[3 * hd]))
                .node(Onnx.node("Attention", Onnx.MS_DOMAIN, "attention", new String[] {INPUT, "w_qkv", "b_qkv"},
                        new String[] {OUTPUT}, Onnx.intAttr("num_heads", p.heads()),
                        Onnx.intAttr("unidirectional", p.causal() ? 1 : 0)));
        return Onnx.model(g, true);
    }

    /** (b) Q, K, V = three MatMuls; MultiHeadAttention(Q, K, V [, attention_bias]). */
    static byte[] mha(Problem p, MhaCausal causalMode) {
        int d = p.dModel();
        int hd = p.projected();
        Onnx.Graph g = withIo("mha", p)
                .initializer(Onnx.floatTensor("w_q", dims(d, hd), p.wQ()))
                .initializer(Onnx.floatTensor("w_k", dims(d, hd), p.wK()))
                .initializer(Onnx.floatTensor("w_v", dims(d, hd), p.wV()))
                .node(Onnx.node("MatMul", "", "proj_q", new String[] {INPUT, "w_q"}, new String[] {"q"}))
                .node(Onnx.node("MatMul", "", "proj_k", new String[] {INPUT, "w_k"}, new String[] {"k"}))
                .node(Onnx.node("MatMul", "", "proj_v", new String[] {INPUT, "w_v"}, new String[] {"v"}));
        if (p.causal() && causalMode == MhaCausal.BIAS) {
            // Inputs: query, key, value, bias, key_padding_mask, attention_bias [1, 1, N, N].
            g.initializer(Onnx.floatTensor("causal_bias", dims(1, 1, p.seq(), p.seq()), causalMask(p.seq())));
            g.node(Onnx.node("MultiHeadAttention", Onnx.MS_DOMAIN, "mha",
                    new String[] {"q", "k", "v", "", "", "causal_bias"}, new String[] {OUTPUT},
                    Onnx.intAttr("num_heads", p.heads())));
        } else if (p.causal()) {
            g.node(Onnx.node("MultiHeadAttention", Onnx.MS_DOMAIN, "mha", new String[] {"q", "k", "v"},
                    new String[] {OUTPUT}, Onnx.intAttr("num_heads", p.heads()), Onnx.intAttr("unidirectional", 1)));
        } else {
            g.node(Onnx.node("MultiHeadAttention", Onnx.MS_DOMAIN, "mha", new String[] {"q", "k", "v"},
                    new String[] {OUTPUT}, Onnx.intAttr("num_heads", p.heads())));
        }
        return Onnx.model(g, true);
    }

    /**
     * (c) Standard operators: Q/K/V MatMuls, Reshape to [B, N, H, dk], Transpose to [B, H, N, dk]
     * (K to [B, H, dk, N]), MatMul, Mul by 1/√dk, Add the [N, N] causal mask, Softmax (last axis),
     * MatMul by V, Transpose back to [B, N, H, dk], Reshape to [B, N, H·dk].
     */
    static byte[] plainOps(Problem p) {
        int d = p.dModel();
        int hd = p.projected();
        int h = p.heads();
        int dk = p.headDim();
        Onnx.Graph g = withIo("plain_ops", p)
                .initializer(Onnx.floatTensor("w_q", dims(d, hd), p.wQ()))
                .initializer(Onnx.floatTensor("w_k", dims(d, hd), p.wK()))
                .initializer(Onnx.floatTensor("w_v", dims(d, hd), p.wV()))
                .initializer(Onnx.int64Tensor("heads_shape", dims(4), new long[] {p.batch(), p.seq(), h, dk}))
                .initializer(Onnx.int64Tensor("out_shape", dims(3), new long[] {p.batch(), p.seq(), hd}))
                .initializer(Onnx.floatTensor("scale", dims(), new float[] {(float) (1.0 / Math.sqrt(dk))}));
        String[] qkv = {"q", "k", "v"};
        for (String t : qkv) {
            g.node(Onnx.node("MatMul", "", "proj_" + t, new String[] {INPUT, "w_" + t}, new String[] {t}));
            g.node(Onnx.node("Reshape", "", "split_heads_" + t, new String[] {t, "heads_shape"}, new String[] {t + "4"}));
        }
        g.node(Onnx.node("Transpose", "", "q_bhnd", new String[] {"q4"}, new String[] {"qh"},
                Onnx.intsAttr("perm", 0, 2, 1, 3)));
        g.node(Onnx.node("Transpose", "", "k_bhdn", new String[] {"k4"}, new String[] {"kt"},
                Onnx.intsAttr("perm", 0, 2, 3, 1)));
        g.node(Onnx.node("Transpose", "", "v_bhnd", new String[] {"v4"}, new String[] {"vh"},
                Onnx.intsAttr("perm", 0, 2, 1, 3)));
        g.node(Onnx.node("MatMul", "", "scores", new String[] {"qh", "kt"}, new String[] {"s"}));
        g.node(Onnx.node("Mul", "", "scale_scores", new String[] {"s", "scale"}, new String[] {"s_scaled"}));
        String logits = "s_scaled";
        if (p.causal()) {
            g.initializer(Onnx.floatTensor("causal_mask", dims(p.seq(), p.seq()), causalMask(p.seq())));
            g.node(Onnx.node("Add", "", "mask", new String[] {"s_scaled", "causal_mask"}, new String[] {"s_masked"}));
            logits = "s_masked";
        }
        g.node(Onnx.node("Softmax", "", "softmax", new String[] {logits}, new String[] {"probs"},
                Onnx.intAttr("axis", -1)));
        g.node(Onnx.node("MatMul", "", "weighted_values", new String[] {"probs", "vh"}, new String[] {"o"}));
        g.node(Onnx.node("Transpose", "", "o_bnhd", new String[] {"o"}, new String[] {"o4"},
                Onnx.intsAttr("perm", 0, 2, 1, 3)));
        g.node(Onnx.node("Reshape", "", "merge_heads", new String[] {"o4", "out_shape"}, new String[] {OUTPUT}));
        return Onnx.model(g, false);
    }

    /** [N, N]: 0 where key j ≤ query i, −∞ above the diagonal. */
    static float[] causalMask(int n) {
        float[] mask = new float[n * n];
        for (int i = 0; i < n; i++) {
            Arrays.fill(mask, i * n + i + 1, (i + 1) * n, Float.NEGATIVE_INFINITY);
        }
        return mask;
    }
}
