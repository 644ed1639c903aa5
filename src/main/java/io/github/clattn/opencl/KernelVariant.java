package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.Locale;

/**
 * The two shapes of the fused kernels. {@link #CPU}: no {@code __local} memory and no barriers,
 * each work-item owns a register block held in {@code float16} vectors (fast on PoCL and other
 * CPU drivers, where local memory is ordinary memory and barriers are expensive). {@link #GPU}:
 * work-groups that tile through {@code __local} memory with barriers. Both are correct on every
 * device; {@link #forDevice} picks the fast one from the device type.
 */
public enum KernelVariant {
    CPU,
    GPU;

    /**
     * System property that forces a variant for every layer opened afterwards ({@code cpu} or
     * {@code gpu}); unset or {@code auto} means {@link #forDevice}.
     */
    public static final String PROPERTY = "clattn.opencl.variant";

    /** The variant for {@code device}: CPU devices get {@link #CPU}, every other type {@link #GPU}. */
    public static KernelVariant forDevice(Device device) {
        return device.type() == Device.Type.CPU ? CPU : GPU;
    }

    /** The variant the property {@value #PROPERTY} forces, else the one for {@code device}. */
    public static KernelVariant chosen(Device device) {
        String forced = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        switch (forced) {
            case "auto":
            case "":
                return forDevice(device);
            case "cpu":
                return CPU;
            case "gpu":
                return GPU;
            default:
                throw new IllegalArgumentException(PROPERTY + ": expected auto, cpu or gpu, got '" + forced + "'");
        }
    }

    /** {@code cpu} or {@code gpu}, as in the path name {@code opencl-fused-cpu}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
