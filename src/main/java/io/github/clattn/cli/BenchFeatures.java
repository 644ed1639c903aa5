package io.github.clattn.cli;

import io.github.clattn.AttentionOptions;
import io.github.clattn.reference.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What {@code clattn bench} times beyond plain attention: the score modifiers (a sliding window, a
 * softcap, ALiBi with the standard slopes, attention sinks: a random logit per head, uniform in
 * [-2, 2) from the seed) and the softmax statistics the calls return ({@code lse}, {@code key_mass}).
 */
record BenchFeatures(int windowLeft, int windowRight, double softcap, boolean alibi, boolean sinks, boolean lse,
                     boolean keyMass) {

    /** Checks the options' values; {@code null} window sides and softcap mean none. */
    static BenchFeatures of(Integer windowLeft, Integer windowRight, Double softcap, boolean alibi, boolean sinks,
                            boolean lse, boolean keyMass) {
        int left = windowLeft == null ? -1 : windowLeft;
        int right = windowRight == null ? -1 : windowRight;
        if (left < -1 || right < -1) {
            throw new UsageException((left < -1 ? "--window-left " + left : "--window-right " + right)
                    + ": expected a number of keys >= 0, or -1 for no limit");
        }
        if (softcap != null && (!(softcap > 0) || softcap.isInfinite())) {
            throw new UsageException("--softcap: expected a finite number > 0, got " + softcap);
        }
        return new BenchFeatures(left, right, softcap == null ? 0 : softcap, alibi, sinks, lse, keyMass);
    }

    /** {@code options} with these modifiers for a layer of {@code heads} heads; sinks drawn from {@code seed}. */
    AttentionOptions apply(AttentionOptions options, int heads, long seed) {
        AttentionOptions o = options;
        if (windowLeft >= 0 || windowRight >= 0) {
            o = o.withWindow(windowLeft, windowRight);
        }
        if (softcap > 0) {
            o = o.withSoftcap(softcap);
        }
        if (alibi) {
            o = o.withAlibiSlopes(AttentionOptions.standardAlibiSlopes(heads));
        }
        if (sinks) {
            o = o.withSinks(Tensors.uniform(new SplittableRandom(seed), heads, 2.0));
        }
        return o;
    }

    /** The keys one query sees at most out of {@code context} (causal: nothing to its right). */
    long keysSeen(long context) {
        return windowLeft >= 0 ? Math.min(context, windowLeft + 1L) : context;
    }

    /** ", window (L, R), softcap C, ALiBi, sinks, returning lse" for a table's header; empty without any. */
    String describe() {
        List<String> parts = new ArrayList<>();
        if (windowLeft >= 0 || windowRight >= 0) {
            parts.add("window (" + windowLeft + ", " + windowRight + ")");
        }
        if (softcap > 0) {
            parts.add(String.format(Locale.ROOT, "softcap %g", softcap));
        }
        if (alibi) {
            parts.add("ALiBi");
        }
        if (sinks) {
            parts.add("sinks");
        }
        if (lse) {
            parts.add("returning lse");
        }
        if (keyMass) {
            parts.add("returning key_mass");
        }
        return parts.isEmpty() ? "" : ", " + String.join(", ", parts);
    }

    /** The JSON fields of a point. */
    void putJson(Map<String, Object> m) {
        m.put("window_left", windowLeft);
        m.put("window_right", windowRight);
        m.put("softcap", softcap > 0 ? softcap : null);
        m.put("alibi", alibi);
        m.put("sinks", sinks);
        m.put("lse", lse);
        m.put("key_mass", keyMass);
    }
}
