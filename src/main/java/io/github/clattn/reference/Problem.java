package io.github.clattn.reference;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Rope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One attention problem: a layer, its options and one call, with the features that made it and
 * the seed its tensors came from, so a failure is rebuilt from {@link #toString()} alone. The one
 * descriptor of correctness tests, the self-check, {@code bench}'s check, the tuner and the JMH
 * benchmarks; {@link #flops()} and {@link #bytes()} give what a benchmark reports.
 *
 * <p>The layer's tensors are drawn from {@code new SplittableRandom(seed)} in a fixed order: W_Q,
 * W_K, W_V (uniform, half-width {@code sqrt(3/D)}: unit-variance projections of unit-variance
 * inputs); then with {@link Feature#PROJECTION_BIAS} b_q, b_k (absent one time in four), b_v
 * (half-width 0.5); with {@link Feature#OUTPUT_PROJECTION} W_O (half-width {@code sqrt(3/(H·dk))})
 * and b_O (absent one time in four). The call's come from a second stream of the same seed: x and,
 * with {@link Feature#CROSS}, the context (uniform in ±{@code xScale}); with
 * {@link Feature#KEY_PADDING} a valid length per batch row (0 one time in eight, M one time in
 * eight, else 1..M); with {@link Feature#ATTN_BIAS} an [N, M] bias uniform in ±2 with one entry in
 * twenty −∞; with {@link Feature#SCALE} a scale in [0.05, 1.05). {@link Feature#GQA} and
 * {@link Feature#ROPE} draw Hkv and the rotation from streams of their own. So problems of one seed and
 * layer shape share their layer whatever the sequence lengths, and {@link Builder#layer} can reuse
 * one without drawing it again.
 */
public record Problem(String label, long seed, Set<Feature> features, AttentionWeights weights,
                      AttentionOptions options, AttentionInput input) {

    private static final int[] SPECIAL_LENGTHS = {1, 2, 15, 16, 17, 31, 33, 63, 64, 65, 129, 255, 257};
    private static final int[] HEAD_DIMS = {1, 3, 5, 7, 12, 13, 16, 17, 20, 24, 33, 64};

    public Problem {
        features = Collections.unmodifiableSet(features.isEmpty() ? EnumSet.noneOf(Feature.class) : EnumSet.copyOf(features));
    }

    /** A problem of given sizes; the features and tensors are set on the builder. */
    public static Builder builder(long seed, int batch, int queryLength, int contextLength, int dModel, int heads,
                                  int headDim) {
        return new Builder(seed, batch, queryLength, contextLength, dModel, heads, headDim);
    }

    /**
     * The problems a tuner computes with every candidate before timing it (the OpenCL and the Java
     * tuners): every mask and bias at sizes that are no multiple of any tile; more queries and keys
     * than the largest query and key block; and a decode step of grouped heads. Head width
     * {@code headDim}, the workload's.
     */
    public static List<Problem> tunerValidation(int headDim) {
        return List.of(builder(0x7E57, 2, 37, 53, 24, 3, headDim).label("tuner validation")
                        .with(Feature.CROSS, Feature.CAUSAL, Feature.KEY_PADDING, Feature.ATTN_BIAS,
                                Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION).build(),
                builder(0x7E59, 1, 150, 613, 24, 2, headDim).label("tuner long validation")
                        .with(Feature.CROSS, Feature.CAUSAL, Feature.PROJECTION_BIAS).build(),
                builder(0x7E58, 2, 1, 301, 24, 4, headDim).kvHeads(2).label("tuner decode validation")
                        .with(Feature.CROSS, Feature.CAUSAL, Feature.KEY_PADDING, Feature.PROJECTION_BIAS).build());
    }

    /**
     * A problem whose sizes are drawn from the seed too: B 1–3, N (and M with {@link Feature#CROSS})
     * up to {@code maxLength}, half the time a length on a vector, tile or block edge; H 1–12;
     * dk from widths around the vector lengths; D 1–70.
     */
    public static Problem random(long seed, Set<Feature> features, int maxLength) {
        SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
        int n = length(r, maxLength);
        int m = n;
        if (features.contains(Feature.CROSS)) {
            m = length(r, maxLength);
        }
        int batch = 1 + r.nextInt(3);
        int heads = 1 + r.nextInt(12);
        int headDim = HEAD_DIMS[r.nextInt(HEAD_DIMS.length)];
        int dModel = 1 + r.nextInt(70);
        return builder(seed, batch, n, m, dModel, heads, headDim).with(features).build();
    }

    private static int length(SplittableRandom r, int max) {
        int l = r.nextBoolean() ? SPECIAL_LENGTHS[r.nextInt(SPECIAL_LENGTHS.length)] : 1 + r.nextInt(max);
        return Math.min(l, max);
    }

    /** A problem made elsewhere (a conformance case, a hand-made input). */
    public static Problem of(String label, AttentionWeights weights, AttentionOptions options, AttentionInput input) {
        return new Problem(label, -1, EnumSet.noneOf(Feature.class), weights, options, input);
    }

    /** The same layer and options with another call. */
    public Problem withInput(AttentionInput newInput) {
        return new Problem(label, seed, features, weights, options, newInput);
    }

    /** The same call asking, or not, for the weights (which picks the staged OpenCL path). */
    public Problem withReturnWeights(boolean returnWeights) {
        AttentionInput.Builder b = input.toBuilder().returnWeights(returnWeights);
        EnumSet<Feature> f = features.isEmpty() ? EnumSet.noneOf(Feature.class) : EnumSet.copyOf(features);
        if (returnWeights) {
            f.add(Feature.WEIGHTS);
        } else {
            f.remove(Feature.WEIGHTS);
        }
        return new Problem(label, seed, f, weights, options, b.build());
    }

    public int batch() {
        return input.batch();
    }

    public int queryLength() {
        return input.queryLength();
    }

    public int contextLength() {
        return input.contextLength();
    }

    /**
     * Floating-point operations of one call: projections {@code 2·B·(N·H·dk + 2·M·H·dk)·D},
     * attention {@code 4·B·H·N·M·dk} (a causal mask counted in full), and the output projection
     * {@code 2·B·N·H·dk·D} when the layer has one.
     */
    public double flops() {
        double b = batch();
        double n = queryLength();
        double m = contextLength();
        double d = weights.dModel();
        double qWidth = weights.projectedDim();
        double kvWidth = weights.kvDim();
        double f = 2 * b * (n * qWidth + 2 * m * kvWidth) * d + 4 * b * weights.heads() * n * m * weights.headDim();
        if (weights.hasOutputProjection()) {
            f += 2 * b * n * qWidth * d;
        }
        return f;
    }

    /**
     * The bytes one call must move at least: its inputs (x, context, masks) and weights read once,
     * its outputs written once (heads_out, out, and the weights when asked for), float32.
     */
    public long bytes() {
        long b = batch();
        long n = queryLength();
        long m = contextLength();
        long d = weights.dModel();
        long hd = weights.projectedDim();
        long kvd = weights.kvDim();
        long floats = b * n * d + (input.isCrossAttention() ? b * m * d : 0)
                + d * (hd + 2 * kvd) + (weights.hasOutputProjection() ? hd * d + b * n * d : 0)
                + (input.attnBias() != null ? n * m : 0) + b * n * hd
                + (input.returnWeights() ? b * weights.heads() * n * m : 0);
        return floats * Float.BYTES + (input.keyValidLength() != null ? b * Integer.BYTES : 0);
    }

    /** The float64 reference of every output of this call. */
    public Float64Attention.Result reference() {
        return Float64Attention.compute(weights, options, input);
    }

    /** Compares {@code got} with the float64 reference within the conformance tolerance. */
    public Verdict check(AttentionOutput got) {
        return reference().compare(toString(), got);
    }

    @Override
    public String toString() {
        String sizes = String.format(Locale.ROOT, "B=%d N=%d M=%d D=%d H=%d%s dk=%d", batch(), queryLength(),
                contextLength(), weights.dModel(), weights.heads(),
                weights.kvHeads() == weights.heads() ? "" : " Hkv=" + weights.kvHeads(), weights.headDim());
        if (seed < 0) {
            return label + " [" + sizes + "]";
        }
        return String.format(Locale.ROOT, "%s[seed=%d %s features=%s%s%s%s]", label.isEmpty() ? "" : label + " ", seed,
                sizes, Feature.describe(features),
                Double.isNaN(options.scale()) ? "" : String.format(Locale.ROOT, " scale=%.4f", options.scale()),
                (options.rope() == null ? "" : " rope=" + options.rope().style().label() + "/" + options.rope().theta()
                        + "/" + options.rope().dims())
                        + (options.hasWindow() ? " window=(" + options.windowLeft() + "," + options.windowRight() + ")" : "")
                        + (options.softcap() > 0 ? String.format(Locale.ROOT, " softcap=%.3f", options.softcap()) : ""),
                input.keyValidLength() == null ? "" : " valid=" + Arrays.toString(input.keyValidLength()));
    }

    /** Sizes and features of a problem whose tensors come from a seed. */
    public static final class Builder {
        private final long seed;
        private final int batch;
        private final int queryLength;
        private final int contextLength;
        private final int dModel;
        private final int heads;
        private final int headDim;
        private final EnumSet<Feature> features = EnumSet.noneOf(Feature.class);
        private float xScale = 1f;
        private String label = "";
        private AttentionWeights layer;
        private int kvHeads;

        private Builder(long seed, int batch, int queryLength, int contextLength, int dModel, int heads, int headDim) {
            this.seed = seed;
            this.batch = batch;
            this.queryLength = queryLength;
            this.contextLength = contextLength;
            this.dModel = dModel;
            this.heads = heads;
            this.headDim = headDim;
        }

        public Builder with(Feature... more) {
            features.addAll(Arrays.asList(more));
            return this;
        }

        public Builder with(Set<Feature> more) {
            features.addAll(more);
            return this;
        }

        /** Multiplies x and the context (large-logit problems). */
        public Builder xScale(float scale) {
            this.xScale = scale;
            return this;
        }

        /** Uses {@code weights} as the layer instead of drawing it (they must have this builder's D, H and dk). */
        public Builder layer(AttentionWeights weights) {
            if (weights.dModel() != dModel || weights.heads() != heads || weights.headDim() != headDim
                    || (kvHeads > 0 && weights.kvHeads() != kvHeads)) {
                throw new IllegalArgumentException("layer: expected D=" + dModel + " H=" + heads + " dk=" + headDim
                        + ", got D=" + weights.dModel() + " H=" + weights.heads() + " dk=" + weights.headDim());
            }
            this.layer = weights;
            return this;
        }

        /** A name printed before the sizes. */
        public Builder label(String text) {
            this.label = text;
            return this;
        }

        public Problem build() {
            if (!features.contains(Feature.CROSS) && contextLength != queryLength) {
                throw new IllegalArgumentException("contextLength: self-attention needs M = N = " + queryLength
                        + ", got " + contextLength + " (add Feature.CROSS)");
            }
            AttentionWeights weights = layer != null ? layer : drawLayer();
            SplittableRandom r = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
            AttentionInput.Builder in = AttentionInput.builder(Tensors.uniform(r, batch * queryLength * dModel, xScale),
                    batch, queryLength);
            if (features.contains(Feature.CROSS)) {
                in.context(Tensors.uniform(r, batch * contextLength * dModel, xScale), contextLength);
            }
            if (features.contains(Feature.KEY_PADDING)) {
                int[] valid = new int[batch];
                for (int i = 0; i < batch; i++) {
                    int pick = r.nextInt(8);
                    valid[i] = pick == 0 ? 0 : pick == 1 ? contextLength : 1 + r.nextInt(Math.max(1, contextLength));
                    valid[i] = Math.min(valid[i], contextLength);
                }
                in.keyValidLength(valid);
            }
            if (features.contains(Feature.ATTN_BIAS)) {
                float[] bias = Tensors.uniform(r, queryLength * contextLength, 2.0);
                for (int i = 0; i < bias.length; i++) {
                    if (r.nextInt(20) == 0) {
                        bias[i] = Float.NEGATIVE_INFINITY;
                    }
                }
                in.attnBias(bias);
            }
            in.returnWeights(features.contains(Feature.WEIGHTS)).returnLse(features.contains(Feature.LSE))
                    .returnKeyMass(features.contains(Feature.KEY_MASS));
            double scale = features.contains(Feature.SCALE) ? 0.05 + r.nextDouble() : Double.NaN;
            AttentionOptions options = new AttentionOptions(features.contains(Feature.CAUSAL), scale);
            if (features.contains(Feature.ROPE) && headDim >= 2) {
                SplittableRandom rr = new SplittableRandom(seed ^ 0xBB67AE85L);
                double theta = rr.nextBoolean() ? 10_000 : 500_000;
                // the whole head when it is even, or an even part of it
                int dims = headDim % 2 == 0 && rr.nextBoolean() ? 0 : 2 * (1 + rr.nextInt(headDim / 2));
                options = options.withRope(new Rope(theta, dims, rr.nextBoolean() ? Rope.Style.NEOX : Rope.Style.GPTJ));
            }
            return new Problem(label, seed, features, weights, modifiers(options), in.build());
        }

        /** The score modifiers the features ask for, each from a stream of its own. */
        private AttentionOptions modifiers(AttentionOptions options) {
            SplittableRandom r = new SplittableRandom(seed ^ 0x3C6EF372L);
            if (features.contains(Feature.WINDOW)) {
                int span = Math.max(1, Math.max(queryLength, contextLength));
                int left = r.nextInt(4) == 0 ? -1 : r.nextInt(span);
                int right = left >= 0 && r.nextBoolean() ? -1 : r.nextInt(Math.max(1, span / 2));
                options = options.withWindow(left, right);
            }
            if (features.contains(Feature.SOFTCAP)) {
                options = options.withSoftcap(1 + 9 * r.nextDouble());
            }
            if (features.contains(Feature.ALIBI)) {
                options = options.withAlibiSlopes(AttentionOptions.standardAlibiSlopes(heads));
            }
            if (features.contains(Feature.SINKS)) {
                options = options.withSinks(Tensors.uniform(r, heads, 2));
            }
            return options;
        }

        /** Sets the number of K/V heads (Hkv divides H) instead of drawing it for {@link Feature#GQA}. */
        public Builder kvHeads(int count) {
            this.kvHeads = count;
            return this;
        }

        /** Hkv: as set, else for {@link Feature#GQA} a proper divisor of H drawn from the seed, else H. */
        private int kvHeads() {
            if (kvHeads > 0) {
                return kvHeads;
            }
            if (!features.contains(Feature.GQA) || heads == 1) {
                return heads;
            }
            List<Integer> divisors = new ArrayList<>();
            for (int g = 1; g < heads; g++) {
                if (heads % g == 0) {
                    divisors.add(g);
                }
            }
            return divisors.get(new SplittableRandom(seed ^ 0x6A09E667L).nextInt(divisors.size()));
        }

        private AttentionWeights drawLayer() {
            SplittableRandom r = new SplittableRandom(seed);
            int hd = heads * headDim;
            int kvHeadCount = kvHeads();
            int kvd = kvHeadCount * headDim;
            double w = Math.sqrt(3.0 / dModel);
            AttentionWeights.Builder wb = AttentionWeights.builder(dModel, heads, headDim).kvHeads(kvHeadCount)
                    .projections(Tensors.uniform(r, dModel * hd, w), Tensors.uniform(r, dModel * kvd, w),
                            Tensors.uniform(r, dModel * kvd, w));
            if (features.contains(Feature.PROJECTION_BIAS)) {
                float[] bQ = Tensors.uniform(r, hd, 0.5);
                float[] bK = r.nextInt(4) == 0 ? null : Tensors.uniform(r, kvd, 0.5);
                wb.projectionBiases(bQ, bK, Tensors.uniform(r, kvd, 0.5));
            }
            if (features.contains(Feature.OUTPUT_PROJECTION)) {
                float[] wO = Tensors.uniform(r, hd * dModel, Math.sqrt(3.0 / hd));
                wb.outputProjection(wO, r.nextInt(4) == 0 ? null : Tensors.uniform(r, dModel, 0.5));
            }
            return wb.build();
        }
    }
}
