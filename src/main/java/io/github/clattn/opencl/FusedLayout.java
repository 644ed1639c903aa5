package io.github.clattn.opencl;

import io.github.clattn.AttentionWeights;

/**
 * The fused path's memory layout, computed once here and passed to the kernels as {@code -D}
 * defines ({@link #defines()}), so that Java's buffer sizes and the kernels' indexing come from
 * the same numbers (see {@code kernels/layout.cl}).
 *
 * <pre>
 *   weights   [W_Q | W_K | W_V]  [D, ldw]     sections of H·dk, Hkv·dk, Hkv·dk columns, zero-padded
 *             W_O                [H·dk, ldo]
 *   per call  Q   [B, H, N, DK]
 *             Kt  [B, Hkv, DK, KS]            KS = key capacity rounded up to KEY_ALIGN
 *             V   [B, Hkv, KS, DKP]           DKP = DK rounded up to 16
 * </pre>
 *
 * @param dModel     D
 * @param heads      H, query heads
 * @param kvHeads    Hkv, key/value heads (divides H)
 * @param headDim    DK
 * @param ldw        row length of the packed [W_Q | W_K | W_V]: every GEMM launch's column blocks
 *                   (Q alone, K | V, or all three) stay inside it
 * @param ldo        row length of the packed W_O
 */
record FusedLayout(int dModel, int heads, int kvHeads, int headDim, int ldw, int ldo) {
    /** Key strides are a multiple of this many keys (at least the CPU kernel's keys per step). */
    static final int KEY_ALIGN = 64;
    /** V rows and flash accumulators are padded to a multiple of this many floats (one float16). */
    static final int VECTOR = 16;

    /** The layout of {@code weights} for a GEMM whose weight columns are read in blocks of {@code columnAlign}. */
    static FusedLayout of(AttentionWeights weights, int columnAlign) {
        int qWidth = weights.projectedDim();
        int kvWidth = weights.kvDim();
        long ldw = Math.max(roundUp((long) qWidth + 2L * kvWidth, columnAlign),
                qWidth + roundUp(2L * kvWidth, columnAlign));
        long ldo = roundUp(weights.dModel(), columnAlign);
        requireArray("w_q | w_k | w_v packed", (long) weights.dModel() * ldw);
        requireArray("w_o packed", (long) qWidth * ldo);
        return new FusedLayout(weights.dModel(), weights.heads(), weights.kvHeads(), weights.headDim(), (int) ldw,
                (int) ldo);
    }

    /** The layout of attention without projections (no weights: ldw and ldo unused). */
    static FusedLayout projected(int heads, int kvHeads, int headDim) {
        return new FusedLayout(0, heads, kvHeads, headDim, 0, 0);
    }

    /** {@code -DDK=.. -DDKP=.. -DKEY_ALIGN=..}: the layout.cl constants. */
    String defines() {
        return "-DDK=" + headDim + " -DDKP=" + paddedHeadDim() + " -DKEY_ALIGN=" + KEY_ALIGN;
    }

    int qWidth() {
        return heads * headDim;
    }

    int kvWidth() {
        return kvHeads * headDim;
    }

    /** DKP: a V row's length. */
    int paddedHeadDim() {
        return (int) roundUp(headDim, VECTOR);
    }

    /** KS: the key stride of Kt and the rows per head of V for {@code capacity} keys. */
    long keyStride(long capacity) {
        return roundUp(Math.max(capacity, 1), KEY_ALIGN);
    }

    long qBytes(long batch, long queries) {
        return batch * queries * qWidth() * Float.BYTES;
    }

    long ktBytes(long batch, long capacity) {
        return batch * kvHeads * (long) headDim * keyStride(capacity) * Float.BYTES;
    }

    long vBytes(long batch, long capacity) {
        return batch * kvHeads * keyStride(capacity) * paddedHeadDim() * Float.BYTES;
    }

    long qkvWeightBytes() {
        return (long) dModel * ldw * Float.BYTES;
    }

    long outputWeightBytes() {
        return (long) qWidth() * ldo * Float.BYTES;
    }

    static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }

    private static void requireArray(String tensor, long elements) {
        if (elements > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(tensor + ": " + elements + " floats, more than one Java array holds; "
                    + "use a smaller layer");
        }
    }
}
