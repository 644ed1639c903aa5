package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The parameter values of every {@link KernelSpec} of one {@link KernelVariant}: the compiled
 * ones reach the kernel compiler as {@code -DNAME=value}, the host-only ones shape launches only
 * (and so never change a program's cache key). Immutable; the names, defaults, allowed values and
 * constraints come from the specs.
 */
public final class KernelParams {
    private final KernelVariant variant;
    private final Map<String, Integer> values;

    private KernelParams(KernelVariant variant, Map<String, Integer> values) {
        this.variant = variant;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** The parameters used when a device has no tuning file: each spec's defaults. */
    public static KernelParams defaults(KernelVariant variant) {
        Map<String, Integer> v = new LinkedHashMap<>();
        for (KernelSpec spec : variant.specs()) {
            spec.params().forEach(p -> v.put(p.name(), p.value()));
        }
        return new KernelParams(variant, v);
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

    /** A copy with {@code name} set to {@code value}; the name must belong to this variant. */
    public KernelParams with(String name, int value) {
        return with(Map.of(name, value));
    }

    /** A copy with every entry of {@code changes} set, checked once all are applied. */
    public KernelParams with(Map<String, Integer> changes) {
        Map<String, Integer> v = new LinkedHashMap<>(values);
        changes.forEach((name, value) -> {
            get(name);
            v.put(name, value);
        });
        return new KernelParams(variant, v).validated();
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

    /** The values each spec adjusts to {@code device} and head width {@code headDim}. */
    KernelParams fittedTo(Device device, int headDim) {
        Map<String, Integer> v = new LinkedHashMap<>(values);
        for (KernelSpec spec : variant.specs()) {
            spec.fit(v, device, headDim);
        }
        return new KernelParams(variant, v);
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

    /** Parses {@code NAME=value} pairs of this variant; missing names keep their defaults. */
    static KernelParams of(KernelVariant variant, Map<String, String> raw) {
        KernelParams p = defaults(variant);
        Map<String, Integer> v = new LinkedHashMap<>(p.values);
        for (String name : p.values.keySet()) {
            String s = raw.get(name);
            if (s != null) {
                try {
                    v.put(name, Integer.parseInt(s.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(name + ": expected an integer, got '" + s + "'", e);
                }
            }
        }
        return new KernelParams(variant, v).validated();
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
