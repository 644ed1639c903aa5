package io.github.clattn;

import io.github.clattn.opencl.OpenClRuntime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lists the devices attention can run on and chooses one from a spec string.
 *
 * <p>Specs (case-insensitive):
 * <ul>
 *   <li>{@code auto}: the automatic rule: the first GPU, else accelerator, else CPU OpenCL device,
 *       else the Java path. The system property {@value #DEVICE_PROPERTY} and then the environment
 *       variable {@value #DEVICE_ENV} override it with another spec. When OpenCL is missing the
 *       Java path is used and one WARN says why and how to install a driver.</li>
 *   <li>{@code java} or {@code cpu}: the pure-Java path.</li>
 *   <li>{@code opencl}: the best OpenCL device by the same rank; {@code opencl:I}: the I-th OpenCL
 *       device in {@link #openCl()} order.</li>
 *   <li>{@code gpu}, {@code accelerator}, {@code opencl-cpu}: the first OpenCL device of that type.</li>
 *   <li>anything else: the first device whose name contains the text.</li>
 * </ul>
 * An explicit OpenCL spec never falls back: it throws {@link ClattnException} when no such
 * device exists. Thread-safe; OpenCL enumeration happens once per process.
 */
public final class Devices {
    public static final String DEVICE_PROPERTY = "clattn.device";
    public static final String DEVICE_ENV = "CLATTN_DEVICE";
    public static final String INSTALL_HINT =
            "install an OpenCL driver, e.g. on Debian/Ubuntu: apt-get install pocl-opencl-icd ocl-icd-opencl-dev";

    private static final Logger LOG = LoggerFactory.getLogger(Devices.class);
    private static final AtomicBoolean FALLBACK_WARNED = new AtomicBoolean();

    private Devices() {
    }

    /** Every OpenCL device of every platform, in platform then device order. Empty without OpenCL. */
    public static List<Device> openCl() {
        return OpenClRuntime.devices();
    }

    /** Every OpenCL device followed by the Java path. */
    public static List<Device> list() {
        List<Device> all = new ArrayList<>(openCl());
        all.add(Device.java());
        return all;
    }

    /** Why OpenCL cannot be used (library, ICD or device missing), or empty when it can. */
    public static Optional<String> openClUnavailableReason() {
        return Optional.ofNullable(OpenClRuntime.unavailableReason());
    }

    /** The automatic choice, honouring the property and environment overrides. */
    public static Device auto() {
        String override = System.getProperty(DEVICE_PROPERTY);
        String source = "system property " + DEVICE_PROPERTY;
        if (override == null || override.isBlank()) {
            override = System.getenv(DEVICE_ENV);
            source = "environment variable " + DEVICE_ENV;
        }
        if (override != null && !override.isBlank() && !override.trim().equalsIgnoreCase("auto")) {
            LOG.debug("Device chosen by {}={}", source, override);
            return select(override);
        }
        Optional<Device> best = bestOpenCl();
        if (best.isPresent()) {
            return best.get().asAutomatic();
        }
        warnFallback(openClUnavailableReason().orElse("no OpenCL device found"));
        return Device.java().asAutomatic();
    }

    /** Logs the one fallback WARN of this process; later calls log at DEBUG. */
    public static void warnFallback(String reason) {
        if (FALLBACK_WARNED.compareAndSet(false, true)) {
            LOG.warn("OpenCL unavailable ({}); using the pure-Java path. To use OpenCL, {}", reason, INSTALL_HINT);
        } else {
            LOG.debug("OpenCL unavailable ({}); using the pure-Java path", reason);
        }
    }

    /** Chooses a device from a spec (see the class comment). */
    public static Device select(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("device: expected a device spec (auto, java, opencl, opencl:I, gpu, "
                    + "accelerator, opencl-cpu or part of a device name), got " + (spec == null ? "null" : "'" + spec + "'"));
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        switch (s) {
            case "auto":
                return auto();
            case "java":
            case "cpu":
                return Device.java();
            case "opencl":
                return bestOpenCl().orElseThrow(() -> noOpenCl("opencl", "any OpenCL device"));
            case "gpu":
                return ofType(Device.Type.GPU, spec);
            case "accelerator":
                return ofType(Device.Type.ACCELERATOR, spec);
            case "opencl-cpu":
                return ofType(Device.Type.CPU, spec);
            default:
                break;
        }
        if (s.startsWith("opencl:")) {
            String number = s.substring("opencl:".length());
            int index;
            try {
                index = Integer.parseInt(number);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("device: expected opencl:I with an integer I, got '" + spec + "'");
            }
            List<Device> devices = openCl();
            if (devices.isEmpty()) {
                throw noOpenCl(spec, "OpenCL device " + index);
            }
            if (index < 0 || index >= devices.size()) {
                throw new IllegalArgumentException("device: '" + spec + "' is out of range: expected opencl:0 to opencl:"
                        + (devices.size() - 1) + "; devices: " + devices);
            }
            return devices.get(index);
        }
        for (Device d : list()) {
            if (d.name().toLowerCase(Locale.ROOT).contains(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException("device: no device matches '" + spec + "'; expected auto, java, opencl, "
                + "opencl:I, gpu, accelerator, opencl-cpu or part of one of these names: " + list());
    }

    private static Device ofType(Device.Type type, String spec) {
        return openCl().stream().filter(d -> d.type() == type).findFirst()
                .orElseThrow(() -> noOpenCl(spec, "an OpenCL device of type " + type));
    }

    private static Optional<Device> bestOpenCl() {
        return openCl().stream().min(Comparator.comparingInt(Devices::rank).thenComparingInt(Device::index));
    }

    private static int rank(Device d) {
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

    private static ClattnException noOpenCl(String spec, String wanted) {
        String reason = openClUnavailableReason().orElse(openCl().isEmpty() ? "no OpenCL device found" : "no such device");
        return new ClattnException("device '" + spec + "': wanted " + wanted + " but " + reason + "; " + INSTALL_HINT
                + (openCl().isEmpty() ? "" : "; devices: " + openCl()));
    }
}
