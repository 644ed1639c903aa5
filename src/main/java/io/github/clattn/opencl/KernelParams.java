package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Tile parameters of the fused kernels of one {@link KernelVariant}, passed to the kernel
 * compiler as {@code -DNAME=value} (the names are the {@code #ifndef} tunables at the top of the
 * kernel files). Immutable.
 *
 * <pre>
 *   cpu: GEMM_RM   rows of C per work-item            (gemm_cpu.cl)
 *        GEMM_CV   float16 column vectors per work-item (gemm_cpu.cl)
 *        FLASH_QR  query rows per register block at dk = 64, scaled for other widths (flash_cpu.cl)
 *        FLASH_KV  float16 key vectors per step        (flash_cpu.cl)
 *        FLASH_RB  register blocks per work-item       (flash_cpu.cl)
 *        FLASH_KC  keys per chunk shared by the blocks (flash_cpu.cl)
 *        FLASH_WI_PER_CU  fewest flash work-items per compute unit before a launch
 *                  gives each work-item fewer than FLASH_RB blocks (host side)
 *   gpu: GEMM_TS   tile edge of a work-group            (gemm_gpu.cl)
 *        GEMM_WPT  outputs per work-item                (gemm_gpu.cl)
 *        FLASH_BQ  query rows per work-group            (flash_gpu.cl)
 *        FLASH_BK  keys per __local tile                (flash_gpu.cl)
 * </pre>
 */
public final class KernelParams {
    private final KernelVariant variant;
    private final Map<String, Integer> values;

    private KernelParams(KernelVariant variant, Map<String, Integer> values) {
        this.variant = variant;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** The parameters used when a device has no tuning file. */
    public static KernelParams defaults(KernelVariant variant) {
        Map<String, Integer> v = new LinkedHashMap<>();
        if (variant == KernelVariant.CPU) {
            v.put("GEMM_RM", 8);
            v.put("GEMM_CV", 2);
            v.put("FLASH_QR", 6);
            v.put("FLASH_KV", 2);
            v.put("FLASH_RB", 8);
            v.put("FLASH_KC", 64);
            v.put("FLASH_WI_PER_CU", 64);
        } else {
            v.put("GEMM_TS", 16);
            v.put("GEMM_WPT", 4);
            v.put("FLASH_BQ", 64);
            v.put("FLASH_BK", 32);
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
        get(name);
        Map<String, Integer> v = new LinkedHashMap<>(values);
        v.put(name, value);
        return new KernelParams(variant, v).validated();
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
     * Checks the values against the kernels' constraints, independent of the device; throws
     * {@link IllegalArgumentException} naming the parameter.
     */
    KernelParams validated() {
        for (Map.Entry<String, Integer> e : values.entrySet()) {
            if (e.getValue() < 1 || e.getValue() > 1024) {
                throw new IllegalArgumentException(e.getKey() + ": expected 1..1024, got " + e.getValue());
            }
        }
        if (variant == KernelVariant.CPU) {
            int kv = get("FLASH_KV");
            if (kv != 1 && kv != 2 && kv != 4) {
                throw new IllegalArgumentException("FLASH_KV: expected 1, 2 or 4, got " + kv);
            }
            if (get("FLASH_KC") % (16 * kv) != 0) {
                throw new IllegalArgumentException("FLASH_KC: expected a multiple of 16·FLASH_KV = " + 16 * kv + ", got "
                        + get("FLASH_KC"));
            }
        }
        if (variant == KernelVariant.GPU && get("GEMM_TS") % get("GEMM_WPT") != 0) {
            throw new IllegalArgumentException("GEMM_WPT: expected a divisor of GEMM_TS=" + get("GEMM_TS") + ", got "
                    + get("GEMM_WPT"));
        }
        return this;
    }

    /**
     * The values adjusted to head width {@code dk} and to what {@code device} can launch: the
     * CPU flash kernel's rows per block scaled to the head width; GPU work-groups no larger than
     * the device allows, and the flash kernel's two __local tiles ({@code 2 · FLASH_BK · dk}
     * floats) within its local memory.
     */
    KernelParams fittedTo(Device device, int dk) {
        if (variant == KernelVariant.CPU) {
            // FLASH_QR is the block height for heads of 64 (four float16 accumulators per row);
            // wider heads get fewer rows and narrower ones more (up to 8), so that the block's
            // accumulators stay about as many as the registers that were tuned.
            int vectorsPerRow = (dk + 15) / 16;
            int qr = get("FLASH_QR");
            int fitted = Math.max(1, Math.min(Math.max(qr, 8), qr * 4 / vectorsPerRow));
            Map<String, Integer> v = new LinkedHashMap<>(values);
            v.put("FLASH_QR", fitted);
            return new KernelParams(variant, v);
        }
        Map<String, Integer> v = new LinkedHashMap<>(values);
        long maxGroup = Math.max(1, device.maxWorkGroupSize());
        while ((long) v.get("GEMM_TS") * (v.get("GEMM_TS") / v.get("GEMM_WPT")) > maxGroup && v.get("GEMM_TS") > 1) {
            v.put("GEMM_TS", v.get("GEMM_TS") / 2);
            v.put("GEMM_WPT", Math.max(1, Math.min(v.get("GEMM_WPT"), v.get("GEMM_TS"))));
        }
        while (v.get("GEMM_TS") % v.get("GEMM_WPT") != 0) {
            v.put("GEMM_WPT", v.get("GEMM_WPT") - 1);
        }
        while (v.get("FLASH_BQ") > maxGroup && v.get("FLASH_BQ") > 1) {
            v.put("FLASH_BQ", v.get("FLASH_BQ") / 2);
        }
        long localBytes = device.localMemBytes() > 0 ? device.localMemBytes() : 16 * 1024;
        // Leave room for the GEMM tiles and the driver's own use of local memory.
        while (2L * v.get("FLASH_BK") * dk * Float.BYTES > localBytes - 1024 && v.get("FLASH_BK") > 1) {
            v.put("FLASH_BK", v.get("FLASH_BK") / 2);
        }
        return new KernelParams(variant, v);
    }

    /** {@code -DNAME=value ...} for the kernel compiler. */
    String defines() {
        StringBuilder s = new StringBuilder();
        values.forEach((k, v) -> s.append(" -D").append(k).append('=').append(v));
        return s.toString().trim();
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
