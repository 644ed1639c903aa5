package io.github.clattn;

import io.github.clattn.core.BackendProvider;
import io.github.clattn.core.Backends;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lists the devices attention can run on, chooses one from a spec string, and checks or tunes it.
 *
 * <p>Specs (case-insensitive):
 * <ul>
 *   <li>{@code auto}: the automatic rule: the first GPU, else accelerator, else CPU OpenCL device,
 *       else the Java path, passing over devices their backend rules out in this process (on Linux,
 *       PoCL's when the JDK's {@code libjsig} is not preloaded: its in-process LLVM can kill the
 *       JVM without it; one INFO line per device). The system property {@value #DEVICE_PROPERTY}
 *       and then the environment variable {@value #DEVICE_ENV} override it with another spec.
 *       When OpenCL is missing the Java path is used and one WARN says why and how to install a
 *       driver.</li>
 *   <li>{@code java} or {@code cpu}: the pure-Java path.</li>
 *   <li>{@code opencl}: the best OpenCL device by the same rank; {@code opencl:I}: the I-th OpenCL
 *       device in {@link #openCl()} order.</li>
 *   <li>{@code gpu}, {@code accelerator}, {@code opencl-cpu}: the first OpenCL device of that type.</li>
 *   <li>anything else: the first device whose name contains the text.</li>
 * </ul>
 * An explicit OpenCL spec never falls back: it throws {@link ClattnException} when no such
 * device exists. Thread-safe; each backend enumerates its devices once per process.
 */
public final class Devices {
    /** The system property whose spec overrides the automatic choice. */
    public static final String DEVICE_PROPERTY = "clattn.device";
    /** The environment variable whose spec overrides the automatic choice (after the property). */
    public static final String DEVICE_ENV = "CLATTN_DEVICE";
    /** How to install an OpenCL driver, as the fallback WARN and device errors say it. */
    public static final String INSTALL_HINT =
            "install an OpenCL driver, e.g. on Debian/Ubuntu: apt-get install pocl-opencl-icd ocl-icd-opencl-dev";

    private static final Logger LOG = LoggerFactory.getLogger(Devices.class);
    private static final AtomicBoolean FALLBACK_WARNED = new AtomicBoolean();
    private static final Set<String> PASSED_OVER = ConcurrentHashMap.newKeySet();
    private static final String OPENCL = "opencl";

    private Devices() {
    }

    /**
     * {@return every OpenCL device of every platform, in platform then device order; empty without
     * OpenCL} Position I is the device of spec {@code opencl:I}.
     */
    public static List<Device> openCl() {
        return Backends.all().stream().filter(p -> p.name().equals(OPENCL)).findFirst()
                .map(BackendProvider::devices).orElse(List.of());
    }

    /** {@return every device of every backend, the Java path last} */
    public static List<Device> list() {
        List<Device> all = new ArrayList<>();
        for (BackendProvider p : Backends.all()) {
            all.addAll(p.devices());
        }
        return all;
    }

    /** {@return why OpenCL cannot be used (library, ICD or device missing), or empty when it can} */
    public static Optional<String> openClUnavailableReason() {
        return Backends.all().stream().filter(p -> p.name().equals(OPENCL)).findFirst()
                .map(BackendProvider::unavailableReason)
                .orElse(Optional.of("this build has no OpenCL backend"));
    }

    /**
     * The automatic choice (see the class comment), honouring the property and environment
     * overrides. Without an override the device is marked {@link Device#automatic()}.
     *
     * @return the chosen device; the Java path when no OpenCL device is usable or every one is passed over
     * @throws IllegalArgumentException the override names no device
     * @throws ClattnException          the override names an OpenCL device that does not exist
     */
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
        Optional<Device> best = best(Backends.all());
        if (best.isPresent()) {
            return best.get().asAutomatic();
        }
        Optional<String> unavailable = openClUnavailableReason();
        if (unavailable.isPresent() || openCl().isEmpty()) {
            warnFallback(unavailable.orElse("no OpenCL device found"));
        } else {
            LOG.debug("The automatic choice passed over every OpenCL device; using the pure-Java path");
        }
        return Backends.fallback().devices().get(0).asAutomatic();
    }

    /**
     * The device of lowest rank over every backend but the fallback, leaving out those their
     * backend passes over ({@link BackendProvider#passOver}); each such device is logged once at
     * INFO with the reason.
     */
    static Optional<Device> best(List<BackendProvider> providers) {
        Optional<Device> best = Optional.empty();
        int bestRank = Integer.MAX_VALUE;
        for (BackendProvider p : providers) {
            if (p.isFallback()) {
                continue;
            }
            Optional<Device> d = p.devices().stream().filter(device -> takes(p, device))
                    .min(Comparator.comparingInt(p::rank).thenComparingInt(Device::index));
            if (d.isPresent() && p.rank(d.get()) < bestRank) {
                best = d;
                bestRank = p.rank(d.get());
            }
        }
        return best;
    }

    private static boolean takes(BackendProvider p, Device device) {
        Optional<String> reason = p.passOver(device);
        if (reason.isEmpty()) {
            return true;
        }
        if (PASSED_OVER.add(device.spec())) {
            LOG.info("The automatic device choice passes over {} ({}): {}. A device spec naming it still takes it.",
                    device.spec(), device.name(), reason.get());
        }
        return false;
    }

    /**
     * Logs the one fallback WARN of this process; later calls log at DEBUG.
     *
     * @param reason why OpenCL is not used, for the message
     */
    public static void warnFallback(String reason) {
        if (FALLBACK_WARNED.compareAndSet(false, true)) {
            LOG.warn("OpenCL unavailable ({}); using the pure-Java path. To use OpenCL, {}", reason, INSTALL_HINT);
        } else {
            LOG.debug("OpenCL unavailable ({}); using the pure-Java path", reason);
        }
    }

    /**
     * Chooses a device from a spec (see the class comment).
     *
     * @param spec {@code auto}, {@code java}, {@code cpu}, {@code opencl}, {@code opencl:I}, {@code gpu},
     *             {@code accelerator}, {@code opencl-cpu}, or part of a device name; any case
     * @return the device; marked {@link Device#automatic()} only for {@code auto}
     * @throws IllegalArgumentException {@code spec} is null or blank, {@code opencl:I} is out of
     *                                  range, or nothing matches (the message lists the devices)
     * @throws ClattnException          an OpenCL spec names a device that does not exist on this
     *                                  machine (no driver, or no device of that type)
     */
    public static Device select(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("device: expected a device spec (" + forms()
                    + " or part of a device name), got " + (spec == null ? "null" : "'" + spec + "'"));
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("auto")) {
            return auto();
        }
        for (BackendProvider p : Backends.all()) {
            Optional<Device> d = p.select(s);
            if (d.isPresent()) {
                return d.get();
            }
        }
        for (Device d : list()) {
            if (d.name().toLowerCase(Locale.ROOT).contains(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException("device: no device matches '" + spec + "'; expected " + forms()
                + " or part of one of these names: " + list());
    }

    private static String forms() {
        List<String> forms = new ArrayList<>(List.of("auto"));
        Backends.all().forEach(p -> forms.addAll(p.specForms()));
        return String.join(", ", forms);
    }

    /**
     * Runs clattn's self-check on {@code device}: a fixed, seeded battery of problems (every feature
     * combination, sizes that are not multiples of any tile, more than 2¹⁶ keys) on every kernel
     * variant the device can run, each compared with a float64 reference. Drivers miscompile; run
     * this once on a new device or driver. A case that fails to run is recorded as a failure, not
     * thrown.
     *
     * @param device   the device to check
     * @param progress receives each case as it completes (may be null)
     * @return every case and its error
     */
    public static Verification verify(Device device, Consumer<Verification.Case> progress) {
        return io.github.clattn.reference.SelfCheck.run(device, progress);
    }

    /**
     * {@link #verify(Device, Consumer)} on the device a spec names.
     *
     * @param spec a device spec (see {@link #select(String)})
     * @return every case and its error
     * @throws IllegalArgumentException no device matches the spec
     * @throws ClattnException          the OpenCL device the spec names does not exist
     */
    public static Verification verify(String spec) {
        return verify(select(spec), null);
    }

    /**
     * Finds the fastest kernel parameters of a kernel variant on {@code device} (every candidate
     * is first checked against the float64 reference; one that fails is dropped with a WARN) and
     * stores them for every layer opened later on that device and driver, or, on the Java path,
     * in a JVM on the same CPU model with the same vector width, thread count and Java release.
     *
     * @param device   an OpenCL device, or the Java path
     * @param variant  a kernel variant of the device ({@code cpu} or {@code gpu} on OpenCL, {@code vector} on
     *                 the Java path), or null for its default
     * @param progress receives one line per candidate (may be null)
     * @return the chosen parameters, where they were stored, and every candidate's line
     * @throws IllegalArgumentException the variant is unknown, or it is the Java path's scalar kernels (nothing
     *                                  to tune)
     * @throws ClattnException          no candidate ran correctly, or the tuning file cannot be written
     */
    public static Tuning tune(Device device, String variant, Consumer<String> progress) {
        BackendProvider p = Backends.of(device);
        return p.tune(device, variant == null ? p.defaultVariant(device) : variant, progress == null ? s -> { } : progress);
    }

    /**
     * {@return the kernel variants {@code device} can run, its default first} On OpenCL {@code cpu}
     * and {@code gpu}; on the Java path {@code vector} (when the Vector API is available) and
     * {@code scalar}.
     *
     * @param device the device
     */
    public static List<String> variants(Device device) {
        return Backends.of(device).variants(device);
    }
}
