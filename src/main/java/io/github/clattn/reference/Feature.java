package io.github.clattn.reference;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One optional part of an attention problem. A {@link Problem} carries a set of them; sweeps run
 * every subset of a list ({@link #combinations}). The names are the ones printed in case
 * descriptions and accepted by {@link #parse}.
 */
public enum Feature {
    /** Query i sees key j only if j <= i + (M - N). */
    CAUSAL("causal"),
    /** Keys and values from a context of M tokens (M may differ from N). */
    CROSS("cross"),
    /** A key valid length per batch row (some rows with none, some with all). */
    KEY_PADDING("padding"),
    /** An additive [N, M] bias on the scaled scores, some entries -inf. */
    ATTN_BIAS("bias"),
    /** Biases on the Q, K and V projections (b_k sometimes absent). */
    PROJECTION_BIAS("proj_bias"),
    /** The output projection W_O (b_O sometimes absent). */
    OUTPUT_PROJECTION("w_o"),
    /** A score scale other than 1/sqrt(dk). */
    SCALE("scale"),
    /** The call asks for the [B, H, N, M] weights. */
    WEIGHTS("weights"),
    /** Grouped-query attention: Hkv a proper divisor of H (1 is multi-query), when H > 1. */
    GQA("gqa"),
    /** Rotary position embedding: theta 10^4 or 5·10^5, neox or gptj, all or part of the head (dk >= 2). */
    ROPE("rope"),
    /** A sliding window (left, right), at least one side bounded. */
    WINDOW("window"),
    /** Logit softcapping with C in [1, 10). */
    SOFTCAP("softcap"),
    /** ALiBi with the standard slopes of H heads. */
    ALIBI("alibi"),
    /** A sink logit per head in [-2, 2). */
    SINKS("sinks"),
    /** The call asks for each row's log-sum-exp. */
    LSE("lse"),
    /** The call asks for the attention each key received. */
    KEY_MASS("key_mass");

    /** The features of the encoder-era layer, every combination of which the sweeps run. */
    public static final List<Feature> LAYER = List.of(CAUSAL, CROSS, KEY_PADDING, ATTN_BIAS, PROJECTION_BIAS,
            OUTPUT_PROJECTION, SCALE, WEIGHTS);
    /** The decoder-era features, each added to about half of the sweeps' combinations. */
    public static final List<Feature> DECODER = List.of(GQA, ROPE, WINDOW, SOFTCAP, ALIBI, SINKS, LSE, KEY_MASS);
    /** The score modifiers (window, softcap, ALiBi, sinks). */
    public static final List<Feature> MODIFIERS = List.of(WINDOW, SOFTCAP, ALIBI, SINKS);

    private final String label;

    Feature(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Every subset of {@code features}; subset i holds feature k when bit k of i is set. */
    public static List<Set<Feature>> combinations(List<Feature> features) {
        List<Set<Feature>> all = new ArrayList<>();
        for (int i = 0; i < 1 << features.size(); i++) {
            EnumSet<Feature> s = EnumSet.noneOf(Feature.class);
            for (int k = 0; k < features.size(); k++) {
                if ((i & (1 << k)) != 0) {
                    s.add(features.get(k));
                }
            }
            all.add(Collections.unmodifiableSet(s));
        }
        return all;
    }

    /**
     * Every subset of {@code exhaustive}, each joined by a fixed, well-spread half of the
     * {@code extra} features: subset i takes extra feature k when bit k of a hash of i is set, so
     * every extra feature meets every other feature in and out of many combinations.
     */
    public static List<Set<Feature>> sweep(List<Feature> exhaustive, List<Feature> extra) {
        List<Set<Feature>> all = new ArrayList<>();
        for (Set<Feature> base : combinations(exhaustive)) {
            int i = all.size();
            int hash = (i * 0x9E3779B1) >>> 11;
            EnumSet<Feature> s = base.isEmpty() ? EnumSet.noneOf(Feature.class) : EnumSet.copyOf(base);
            for (int k = 0; k < extra.size(); k++) {
                if ((hash & (1 << k)) != 0) {
                    s.add(extra.get(k));
                }
            }
            all.add(Collections.unmodifiableSet(s));
        }
        return all;
    }

    /** {@code causal+cross}, or {@code none}. */
    public static String describe(Set<Feature> features) {
        return features.isEmpty() ? "none"
                : features.stream().sorted().map(Feature::label).collect(Collectors.joining("+"));
    }

    /** The set {@link #describe} printed ({@code none} for the empty set). */
    public static Set<Feature> parse(String text) {
        EnumSet<Feature> s = EnumSet.noneOf(Feature.class);
        if (text.isBlank() || text.trim().equals("none")) {
            return s;
        }
        for (String part : text.split("\\+")) {
            String p = part.trim().toLowerCase(Locale.ROOT);
            s.add(List.of(values()).stream().filter(f -> f.label.equals(p)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("feature: expected one of "
                            + List.of(values()).stream().map(Feature::label).toList() + ", got '" + part + "'")));
        }
        return s;
    }
}
