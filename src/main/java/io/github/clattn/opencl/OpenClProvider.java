package io.github.clattn.opencl;

import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionWeights;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Devices;
import io.github.clattn.Tuning;
import io.github.clattn.core.Backend;
import io.github.clattn.core.BackendProvider;
import io.github.clattn.core.ProjectedBackend;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The OpenCL backend: every device of every platform the ICD loader finds
 * ({@link OpenClRuntime}), ranked GPU, accelerator, CPU for the automatic choice; layers
 * ({@link OpenClLayer}) in two kernel variants ({@link KernelVariant}); tuning ({@link Tuner}).
 */
public final class OpenClProvider implements BackendProvider {
    /** The backend's name and device-spec prefix. */
    public static final String NAME = "opencl";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int listOrder() {
        return 0;
    }

    @Override
    public List<Device> devices() {
        return OpenClRuntime.devices();
    }

    @Override
    public Optional<String> unavailableReason() {
        return Optional.ofNullable(OpenClRuntime.unavailableReason());
    }

    @Override
    public int rank(Device d) {
        switch (d.type()) {
            case GPU:
                return 0;
            case ACCELERATOR:
                return 1;
            case CPU:
                return 2;
            default:
                return 3;
        }
    }

    @Override
    public Optional<String> passOver(Device device) {
        return SignalChaining.passOverReason(device.info().platform());
    }

    @Override
    public Optional<Device> select(String spec) {
        switch (spec) {
            case NAME:
                return Optional.of(devices().stream().min(Comparator.comparingInt(this::rank)
                        .thenComparingInt(Device::index)).orElseThrow(() -> missing(spec, "any OpenCL device")));
            case "gpu":
                return Optional.of(ofType(Device.Type.GPU, spec));
            case "accelerator":
                return Optional.of(ofType(Device.Type.ACCELERATOR, spec));
            case "opencl-cpu":
                return Optional.of(ofType(Device.Type.CPU, spec));
            default:
                break;
        }
        if (!spec.startsWith(NAME + ":")) {
            return Optional.empty();
        }
        int index;
        try {
            index = Integer.parseInt(spec.substring(NAME.length() + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("device: expected opencl:I with an integer I, got '" + spec + "'");
        }
        List<Device> all = devices();
        if (all.isEmpty()) {
            throw missing(spec, "OpenCL device " + index);
        }
        if (index < 0 || index >= all.size()) {
            throw new IllegalArgumentException("device: '" + spec + "' is out of range: expected opencl:0 to opencl:"
                    + (all.size() - 1) + "; devices: " + all);
        }
        return Optional.of(all.get(index));
    }

    @Override
    public List<String> specForms() {
        return List.of("opencl", "opencl:I", "gpu", "accelerator", "opencl-cpu");
    }

    private Device ofType(Device.Type type, String spec) {
        return devices().stream().filter(d -> d.type() == type).findFirst()
                .orElseThrow(() -> missing(spec, "an OpenCL device of type " + type));
    }

    private ClattnException missing(String spec, String wanted) {
        List<Device> all = devices();
        String reason = unavailableReason().orElse(all.isEmpty() ? "no OpenCL device found" : "no such device");
        return new ClattnException("device '" + spec + "': wanted " + wanted + " but " + reason + "; "
                + Devices.INSTALL_HINT + (all.isEmpty() ? "" : "; devices: " + all));
    }

    /** The variant {@link KernelVariant#chosen} picks first, then the other. */
    @Override
    public List<String> variants(Device device) {
        KernelVariant first = KernelVariant.chosen(device);
        KernelVariant other = first == KernelVariant.CPU ? KernelVariant.GPU : KernelVariant.CPU;
        return List.of(first.label(), other.label());
    }

    @Override
    public Backend open(AttentionWeights weights, AttentionOptions options, Device device, String variant) {
        KernelVariant v = variant == null ? KernelVariant.chosen(device) : KernelVariant.parse("variant", variant);
        return new OpenClLayer(weights, options, device, v, null);
    }

    @Override
    public ProjectedBackend openProjected(int heads, int kvHeads, int headDim, AttentionOptions options, Device device,
                                          String variant) {
        KernelVariant v = variant == null ? KernelVariant.chosen(device) : KernelVariant.parse("variant", variant);
        return new OpenClProjected(device, v, heads, kvHeads, headDim, options);
    }

    @Override
    public Tuning tune(Device device, String variant, Consumer<String> progress) {
        Tuner.Result r = Tuner.tune(device, KernelVariant.parse("variant", variant), progress);
        return new Tuning(device, variant, r.best().toString(), r.file(),
                r.trials().stream().map(Tuner.Trial::toString).toList());
    }
}
