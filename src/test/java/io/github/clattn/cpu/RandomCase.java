package io.github.clattn.cpu;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionWeights;
import java.util.Arrays;
import java.util.Random;

/**
 * A random attention problem: sizes, flags and tensors drawn from one seed, so a failing case
 * can be rebuilt from its {@link #toString()}. Values are uniform in [-1, 1]; projection
 * matrices are scaled by 1/sqrt(fan-in) so scores stay in a realistic range.
 */
record RandomCase(long seed, int batch, int n, int m, int dModel, int heads, int headDim, boolean causal,
                  boolean cross, boolean padding, boolean bias, boolean projectionBias, boolean outputProjection,
                  boolean returnWeights, double scale, AttentionWeights weights, AttentionInput input) {

    /** Shapes and flags given, tensors drawn from {@code seed}. */
    static RandomCase of(long seed, int batch, int n, int m, int dModel, int heads, int headDim, boolean causal,
                         boolean cross, boolean padding, boolean bias, boolean projectionBias, boolean outputProjection,
                         boolean returnWeights) {
        if (!cross && m != n) {
            throw new IllegalArgumentException("self-attention needs m = n, got n=" + n + " m=" + m);
        }
        Random rnd = new Random(seed);
        int hd = heads * headDim;
        AttentionWeights.Builder wb = AttentionWeights.builder(dModel, heads, headDim)
                .projections(uniform(rnd, dModel * hd, 1 / Math.sqrt(dModel)), uniform(rnd, dModel * hd, 1 / Math.sqrt(dModel)),
                        uniform(rnd, dModel * hd, 1 / Math.sqrt(dModel)));
        if (projectionBias) {
            wb.projectionBiases(uniform(rnd, hd, 0.5), rnd.nextBoolean() ? uniform(rnd, hd, 0.5) : null,
                    uniform(rnd, hd, 0.5));
        }
        if (outputProjection) {
            wb.outputProjection(uniform(rnd, hd * dModel, 1 / Math.sqrt(hd)), rnd.nextBoolean() ? uniform(rnd, dModel, 0.5) : null);
        }
        AttentionInput.Builder ib = AttentionInput.builder(uniform(rnd, batch * n * dModel, 1), batch, n)
                .returnWeights(returnWeights);
        if (cross) {
            ib.context(uniform(rnd, batch * m * dModel, 1), m);
        }
        if (padding) {
            int[] valid = new int[batch];
            for (int b = 0; b < batch; b++) {
                int pick = rnd.nextInt(4);
                valid[b] = pick == 0 ? 0 : pick == 1 ? m : rnd.nextInt(m + 1);
            }
            ib.keyValidLength(valid);
        }
        if (bias) {
            float[] attnBias = uniform(rnd, n * m, 2);
            for (int i = 0; i < attnBias.length; i += 1 + rnd.nextInt(7)) {
                attnBias[i] = Float.NEGATIVE_INFINITY; // masked entries inside the visible range
            }
            ib.attnBias(attnBias);
        }
        double scale = rnd.nextInt(3) == 0 ? 0.05 + rnd.nextDouble() : Double.NaN;
        return new RandomCase(seed, batch, n, m, dModel, heads, headDim, causal, cross, padding, bias, projectionBias,
                outputProjection, returnWeights, scale, wb.build(), ib.build());
    }

    /** Everything drawn from {@code seed}, sizes up to {@code maxLength} queries and keys. */
    static RandomCase random(long seed, int maxLength) {
        Random rnd = new Random(seed * 31 + 7);
        int n = length(rnd, maxLength);
        boolean cross = rnd.nextBoolean();
        int m = cross ? length(rnd, maxLength) : n;
        int[] dModels = {3, 5, 12, 20, 33, 40, 64};
        int[] headDims = {1, 3, 7, 13, 16, 24, 33, 64};
        return of(seed, 1 + rnd.nextInt(2), n, m, dModels[rnd.nextInt(dModels.length)], 1 + rnd.nextInt(3),
                headDims[rnd.nextInt(headDims.length)], rnd.nextBoolean(), cross, rnd.nextBoolean(), rnd.nextBoolean(),
                rnd.nextBoolean(), rnd.nextBoolean(), rnd.nextInt(4) == 0);
    }

    /** Lengths around the vector, tile and block edges, or anything in [1, max]. */
    private static int length(Random rnd, int max) {
        int[] edges = {1, 2, 15, 16, 17, 31, 33, 63, 64, 65, 129, 255, 257, 300};
        int l = rnd.nextBoolean() ? edges[rnd.nextInt(edges.length)] : 1 + rnd.nextInt(max);
        return Math.min(l, max);
    }

    static float[] uniform(Random rnd, int count, double amplitude) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) ((rnd.nextDouble() * 2 - 1) * amplitude);
        }
        return a;
    }

    AttentionOptions options() {
        return new AttentionOptions(causal, scale);
    }

    @Override
    public String toString() {
        return "seed=" + seed + " B=" + batch + " N=" + n + " M=" + m + " D=" + dModel + " H=" + heads + " dk=" + headDim
                + (causal ? " causal" : "") + (cross ? " cross" : "") + (padding ? " valid=" + Arrays.toString(input.keyValidLength()) : "")
                + (bias ? " bias" : "") + (projectionBias ? " b_qkv" : "") + (outputProjection ? " w_o" : "")
                + (returnWeights ? " weights" : "") + (Double.isNaN(scale) ? "" : " scale=" + scale);
    }
}
