package io.github.clattn;

import java.util.Random;

/**
 * A seeded random attention problem: layer, options and input drawn from one {@code Random}, so
 * a failure is reproduced from its seed alone. {@code flags} picks the feature combination
 * (bit 0 causal, 1 cross-attention, 2 key valid lengths, 3 additive bias, 4 output projection,
 * 5 projection biases, 6 returned weights).
 */
public record RandomProblem(long seed, int flags, AttentionWeights weights, AttentionOptions options,
                            AttentionInput input) {
    public static final int CAUSAL = 1;
    public static final int CROSS = 2;
    public static final int VALID_LEN = 4;
    public static final int BIAS = 8;
    public static final int OUTPUT_PROJECTION = 16;
    public static final int PROJECTION_BIAS = 32;
    public static final int WEIGHTS = 64;
    public static final int ALL_FLAGS = 128;

    private static final int[] SPECIAL_LENGTHS = {1, 17, 63, 64, 65, 129, 257};

    /** Sizes as the sweep wants them: B 1–3, N and M 1–300 (often a special length), D and dk not multiples of 8. */
    public static RandomProblem draw(long seed, int flags) {
        Random r = new Random(seed);
        int b = 1 + r.nextInt(3);
        int n = length(r);
        int m = n;
        if ((flags & CROSS) != 0) {
            do {
                m = length(r);
            } while (m == n);
        }
        int h = 1 + r.nextInt(12);
        int dk = notMultipleOf8(r, 1 + r.nextInt(20));
        int d = notMultipleOf8(r, 1 + r.nextInt(48));
        return make(seed, flags, r, b, n, m, d, h, dk, 1.0f);
    }

    /** A problem of given sizes; {@code xScale} multiplies x and context (large-logit tests). */
    public static RandomProblem of(long seed, int flags, int b, int n, int m, int d, int h, int dk, float xScale) {
        return make(seed, flags, new Random(seed), b, n, m, d, h, dk, xScale);
    }

    private static RandomProblem make(long seed, int flags, Random r, int b, int n, int m, int d, int h, int dk,
                                      float xScale) {
        int hd = h * dk;
        float wScale = (float) (1.0 / Math.sqrt(d));
        AttentionWeights.Builder wb = AttentionWeights.builder(d, h, dk)
                .projections(normal(r, d * hd, wScale), normal(r, d * hd, wScale), normal(r, d * hd, wScale));
        if ((flags & PROJECTION_BIAS) != 0) {
            wb.projectionBiases(normal(r, hd, 0.1f), normal(r, hd, 0.1f), normal(r, hd, 0.1f));
        }
        if ((flags & OUTPUT_PROJECTION) != 0) {
            wb.outputProjection(normal(r, hd * d, (float) (1.0 / Math.sqrt(hd))), normal(r, d, 0.1f));
        }
        AttentionInput.Builder in = AttentionInput.builder(normal(r, b * n * d, xScale), b, n);
        if ((flags & CROSS) != 0) {
            in.context(normal(r, b * m * d, xScale), m);
        }
        if ((flags & VALID_LEN) != 0) {
            int[] valid = new int[b];
            for (int i = 0; i < b; i++) {
                int pick = r.nextInt(5);
                valid[i] = pick == 0 ? 0 : pick == 1 ? m : r.nextInt(m + 1);
            }
            in.keyValidLength(valid);
        }
        if ((flags & BIAS) != 0) {
            float[] bias = normal(r, n * m, 1f);
            for (int i = 0; i < bias.length; i++) {
                if (r.nextInt(10) == 0) {
                    bias[i] = Float.NEGATIVE_INFINITY;
                }
            }
            in.attnBias(bias);
        }
        in.returnWeights((flags & WEIGHTS) != 0);
        AttentionOptions options = new AttentionOptions((flags & CAUSAL) != 0, r.nextInt(4) == 0 ? 0.5 : Double.NaN);
        return new RandomProblem(seed, flags, wb.build(), options, in.build());
    }

    private static int length(Random r) {
        return r.nextBoolean() ? SPECIAL_LENGTHS[r.nextInt(SPECIAL_LENGTHS.length)] : 1 + r.nextInt(300);
    }

    private static int notMultipleOf8(Random r, int v) {
        return v % 8 == 0 ? v + 1 + r.nextInt(7) : v;
    }

    static float[] normal(Random r, int count, float scale) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    /** Runs on {@code device} and compares with the float64 reference within the conformance tolerance. */
    public void assertMatchesReference(Device device) {
        Reference.Result want = Reference.compute(weights, options, input);
        try (Attention attention = Attention.open(weights, options, device)) {
            assertMatches(attention.forward(input), want, device.toString());
        }
    }

    public void assertMatches(AttentionOutput got, Reference.Result want, String where) {
        String label = "seed " + seed + " " + this + " on " + where;
        Tolerance.assertOutputClose(label + " heads_out", got.headsOut(), want.headsOut());
        if (weights.hasOutputProjection()) {
            Tolerance.assertOutputClose(label + " out", got.out(), want.out());
        }
        if (input.returnWeights()) {
            Tolerance.assertWeightsClose(label + " weights", got.weights(), want.weights());
        }
    }

    @Override
    public String toString() {
        return String.format("[flags=%s B=%d N=%d M=%d D=%d H=%d dk=%d]", Integer.toBinaryString(flags), input.batch(),
                input.queryLength(), input.contextLength(), weights.dModel(), weights.heads(), weights.headDim());
    }
}
