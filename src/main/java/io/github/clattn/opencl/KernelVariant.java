package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.List;
import java.util.Locale;

/**
 * The two shapes of the fused kernels, each a pair of {@link KernelSpec}s. {@link #CPU}: no
 * {@code __local} memory and no barriers, each work-item owns a register block held in
 * {@code float16} vectors (fast on PoCL and other CPU drivers, where local memory is ordinary
 * memory and barriers are expensive). {@link #GPU}: work-groups that tile through {@code __local}
 * memory with barriers. Both are correct on every device; {@link #forDevice} picks the fast one
 * from the device type.
 */
public enum KernelVariant {
    CPU(new CpuKernelSpecs.Gemm(), new CpuKernelSpecs.Flash(), new CpuKernelSpecs.Decode(), new CpuKernelSpecs.Gemv()),
    GPU(new GpuKernelSpecs.Gemm(), new GpuKernelSpecs.Flash(), new GpuKernelSpecs.Decode(), null);

    /**
     * System property that forces a variant for every layer opened afterwards ({@code cpu} or
     * {@code gpu}); unset or {@code auto} means {@link #forDevice}.
     */
    public static final String PROPERTY = "clattn.opencl.variant";

    private final KernelSpec.Gemm gemm;
    private final KernelSpec.Flash flash;
    private final KernelSpec.Decode decode;
    private final KernelSpec.Gemv gemv;

    KernelVariant(KernelSpec.Gemm gemm, KernelSpec.Flash flash, KernelSpec.Decode decode, KernelSpec.Gemv gemv) {
        this.gemm = gemm;
        this.flash = flash;
        this.decode = decode;
        this.gemv = gemv;
    }

    KernelSpec.Gemm gemm() {
        return gemm;
    }

    KernelSpec.Flash flash() {
        return flash;
    }

    KernelSpec.Decode decode() {
        return decode;
    }

    /** The GEMM of few rows, or null where the variant's GEMM serves every call (the GPU variant: no GPU measured yet). */
    KernelSpec.Gemv gemv() {
        return gemv;
    }

    /** Every tunable kernel of this variant, in tuning order. */
    List<KernelSpec> specs() {
        return gemv == null ? List.of(gemm, flash, decode) : List.of(gemm, flash, decode, gemv);
    }

    /** The fused program's files, after common.cl. */
    List<String> files() {
        return List.of("layout.cl", "rope.cl", gemm.file(), flash.file(), decode.file(), "keymass.cl");
    }

    /** The variant for {@code device}: CPU devices get {@link #CPU}, every other type {@link #GPU}. */
    public static KernelVariant forDevice(Device device) {
        return device.type() == Device.Type.CPU ? CPU : GPU;
    }

    /** The variant the property {@value #PROPERTY} forces, else the one for {@code device}. */
    public static KernelVariant chosen(Device device) {
        String forced = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        if (forced.isEmpty() || forced.equals("auto")) {
            return forDevice(device);
        }
        return parse(PROPERTY, forced);
    }

    /** {@code cpu} or {@code gpu}; anything else is refused naming {@code what}. */
    static KernelVariant parse(String what, String label) {
        switch (label.trim().toLowerCase(Locale.ROOT)) {
            case "cpu":
                return CPU;
            case "gpu":
                return GPU;
            default:
                throw new IllegalArgumentException(what + ": expected auto, cpu or gpu, got '" + label + "'");
        }
    }

    /** {@code cpu} or {@code gpu}, as in the path name {@code opencl-fused-cpu}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
