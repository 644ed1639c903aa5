package io.github.clattn.opencl;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionWeights;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A seeded random attention problem for the sweeps: sizes, the six flags and every tensor are a
 * function of the seed and the arguments alone, so a failure is reproduced from the printed
 * description.
 *
 * <pre>
 *   flags: CAUSAL | CROSS (M may differ from N) | BIAS (attn_bias with some -inf) |
 *          VALID (key_valid_len, 0 included) | W_O (output projection) | PROJ_BIAS (b_q, b_k, b_v)
 * </pre>
 */
record RandomCase(String description, AttentionWeights weights, AttentionOptions options, AttentionInput input) {
    static final int CAUSAL = 1;
    static final int CROSS = 2;
    static final int BIAS = 4;
    static final int VALID = 8;
    static final int W_O = 16;
    static final int PROJ_BIAS = 32;
    static final int ALL_FLAGS = 64;

    static RandomCase of(long seed, int batch, int n, int m, int dModel, int heads, int headDim, int flags) {
        SplittableRandom rng = new SplittableRandom(seed);
        int ctxLen = (flags & CROSS) != 0 ? m : n;
        int hd = heads * headDim;
        double ws = 1 / Math.sqrt(dModel);
        AttentionWeights.Builder w = AttentionWeights.builder(dModel, heads, headDim)
                .projections(uniform(rng, dModel * hd, ws), uniform(rng, dModel * hd, ws), uniform(rng, dModel * hd, ws));
        if ((flags & PROJ_BIAS) != 0) {
            w.projectionBiases(uniform(rng, hd, 0.5), uniform(rng, hd, 0.5), uniform(rng, hd, 0.5));
        }
        if ((flags & W_O) != 0) {
            w.outputProjection(uniform(rng, hd * dModel, 1 / Math.sqrt(hd)), uniform(rng, dModel, 0.5));
        }
        AttentionInput.Builder in = AttentionInput.builder(uniform(rng, batch * n * dModel, 1.0), batch, n);
        if ((flags & CROSS) != 0) {
            in.context(uniform(rng, batch * ctxLen * dModel, 1.0), ctxLen);
        }
        int[] valid = null;
        if ((flags & VALID) != 0) {
            valid = new int[batch];
            for (int i = 0; i < batch; i++) {
                // Mostly partial lengths; now and then none or all of the keys.
                int pick = rng.nextInt(8);
                valid[i] = pick == 0 ? 0 : pick == 1 ? ctxLen : 1 + rng.nextInt(ctxLen);
            }
            in.keyValidLength(valid);
        }
        if ((flags & BIAS) != 0) {
            float[] bias = uniform(rng, n * ctxLen, 2.0);
            for (int i = 0; i < bias.length; i++) {
                if (rng.nextInt(20) == 0) {
                    bias[i] = Float.NEGATIVE_INFINITY;
                }
            }
            in.attnBias(bias);
        }
        double scale = rng.nextInt(4) == 0 ? 0.05 + rng.nextDouble() : Double.NaN;
        AttentionOptions options = new AttentionOptions((flags & CAUSAL) != 0, scale);
        String description = String.format(Locale.ROOT,
                "seed=%d B=%d N=%d M=%d D=%d H=%d dk=%d flags=%s scale=%s valid=%s", seed, batch, n, ctxLen, dModel, heads,
                headDim, flagNames(flags), Double.isNaN(scale) ? "default" : String.format(Locale.ROOT, "%.4f", scale),
                valid == null ? "-" : Arrays.toString(valid));
        return new RandomCase(description, w.build(), options, in.build());
    }

    static String flagNames(int flags) {
        StringBuilder s = new StringBuilder();
        String[] names = {"causal", "cross", "bias", "valid", "w_o", "proj_bias"};
        for (int i = 0; i < names.length; i++) {
            if ((flags & (1 << i)) != 0) {
                s.append(s.length() == 0 ? "" : "+").append(names[i]);
            }
        }
        return s.length() == 0 ? "none" : s.toString();
    }

    static float[] uniform(SplittableRandom rng, int count, double scale) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** The same call with {@code returnWeights} set as given. */
    static AttentionInput withReturnWeights(AttentionInput in, boolean returnWeights) {
        AttentionInput.Builder b = AttentionInput.builder(in.x(), in.batch(), in.queryLength())
                .keyValidLength(in.keyValidLength()).attnBias(in.attnBias()).returnWeights(returnWeights);
        if (in.isCrossAttention()) {
            b.context(in.context(), in.contextLength());
        }
        return b.build();
    }
}
