package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The parameter values of every {@link KernelSpec} of one {@link KernelVariant}: the compiled
 * ones reach the kernel compiler as {@code -DNAME=value}, the host-only ones shape launches only
 * (and so never change a program's cache key). Immutable; the names, defaults, allowed values and
 * constraints come from the specs.
 *
 * <p>A value is either a default or <em>chosen</em>: set by {@link #with} (the tuner's candidates,
 * a caller) or read from a tuning file the tuner wrote. {@link #fittedTo} cuts only defaults to
 * the device's register budget ({@link KernelSpec#withinBudget}), so what the tuner measured on a
 * device is what runs there. Equality and hashing look at the values alone.
 */
public final class KernelParams {
    private final KernelVariant variant;
    private final Map<String, Integer> values;
    private final Set<String> chosen;

    private KernelParams(KernelVariant variant, Map<String, Integer> values, Set<String> chosen) {
        this.variant = variant;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.chosen = Collections.unmodifiableSet(new LinkedHashSet<>(chosen));
    }

    /** The parameters used when a device has no tuning file: each spec's defaults. */
    public static KernelParams defaults(KernelVariant variant) {
        Map<String, Integer> v = new LinkedHashMap<>();
        for (KernelSpec spec : variant.specs()) {
            spec.params().forEach(p -> v.put(p.name(), p.value()));
        }
        return new KernelParams(variant, v, Set.of());
    }

    public KernelVariant variant() {
        return variant;
    }

    /** Parameter name to value, in a fixed order. */
    public Map<String, Integer> values() {
        return values;
    }

    public int get(String name) {
        Integer v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("parameter: expected one of " + values.keySet() + ", got " + name);
        }
        return v;
    }

    /** The names whose values were chosen (by {@link #with} or a tuning file) rather than left at their defaults. */
    Set<String> chosen() {
        return chosen;
    }

    /** A copy with {@code name} set to {@code value}; the name must belong to this variant. */
    public KernelParams with(String name, int value) {
        return with(Map.of(name, value));
    }

    /** A copy with every entry of {@code changes} set (and chosen), checked once all are applied. */
    public KernelParams with(Map<String, Integer> changes) {
        Map<String, Integer> v = new LinkedHashMap<>(values);
        Set<String> c = new LinkedHashSet<>(chosen);
        changes.forEach((name, value) -> {
            get(name);
            v.put(name, value);
            c.add(name);
        });
        return new KernelParams(variant, v, c).validated();
    }

    /**
     * Checks every value against its spec (allowed values, else 1..1024) and the specs'
     * constraints, independent of the device; throws {@link IllegalArgumentException} naming the
     * parameter.
     */
    KernelParams validated() {
        for (KernelSpec spec : variant.specs()) {
            for (KernelSpec.Param p : spec.params()) {
                int v = get(p.name());
                if (!p.allowed().isEmpty() && !p.allowed().contains(v)) {
                    throw new IllegalArgumentException(p.name() + ": expected one of " + p.allowed() + ", got " + v);
                }
                if (v < 1 || v > 1024) {
                    throw new IllegalArgumentException(p.name() + ": expected 1..1024, got " + v);
                }
            }
            spec.validate(values);
        }
        return this;
    }

    /**
     * What runs on {@code device} for head width {@code headDim}: the defaults cut to its register
     * budget ({@link #withinBudget}), then every value adjusted to what the device can launch.
     */
    KernelParams fittedTo(Device device, int headDim) {
        KernelParams p = withinBudget(CpuKernelSpecs.accumulatorsOf(device));
        Map<String, Integer> v = new LinkedHashMap<>(p.values);
        for (KernelSpec spec : variant.specs()) {
            spec.fit(v, device, headDim);
        }
        return new KernelParams(variant, v, chosen);
    }

    /**
     * The values that were not chosen cut to a budget of {@code accumulators} float16 register
     * accumulators per tile (see {@link CpuKernelSpecs#accumulatorsFor}); chosen ones stay.
     */
    KernelParams withinBudget(int accumulators) {
        Map<String, Integer> v = new LinkedHashMap<>(values);
        for (KernelSpec spec : variant.specs()) {
            spec.withinBudget(v, accumulators, chosen);
        }
        return new KernelParams(variant, v, chosen);
    }

    /** {@code -DNAME=value ...} of the compiled parameters, for the kernel compiler. */
    String defines() {
        StringJoiner s = new StringJoiner(" ");
        for (KernelSpec spec : variant.specs()) {
            for (KernelSpec.Param p : spec.params()) {
                if (p.compiled()) {
                    s.add("-D" + p.name() + "=" + get(p.name()));
                }
            }
        }
        return s.toString();
    }

    /**
     * Parses {@code NAME=value} pairs of this variant; missing names keep their defaults. The
     * values read are chosen when {@code chosen} is set (a tuning file holding what the tuner
     * measured), else treated as defaults.
     */
    static KernelParams of(KernelVariant variant, Map<String, String> raw, boolean chosen) {
        KernelParams p = defaults(variant);
        Map<String, Integer> v = new LinkedHashMap<>(p.values);
        Set<String> c = new LinkedHashSet<>();
        for (String name : p.values.keySet()) {
            String s = raw.get(name);
            if (s != null) {
                if (chosen) {
                    c.add(name);
                }
                try {
                    v.put(name, Integer.parseInt(s.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(name + ": expected an integer, got '" + s + "'", e);
                }
            }
        }
        return new KernelParams(variant, v, c).validated();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KernelParams p && p.variant == variant && p.values.equals(values);
    }

    @Override
    public int hashCode() {
        return variant.hashCode() * 31 + values.hashCode();
    }

    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(" ", variant.label().toUpperCase(Locale.ROOT) + " ", "");
        values.forEach((k, v) -> j.add(k + "=" + v));
        return j.toString();
    }
}
