package io.github.clattn.opencl;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.core.CacheDir;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One OpenCL context per device, shared by every layer on that device and reference-counted:
 * the last {@link #release()} releases the context and every program built in it. Programs are
 * made once per (kernel files, build options) and kept, in memory for the context's life and as
 * binaries on disk across processes; kernel sources come from the classpath
 * ({@code io/github/clattn/kernels/*.cl}), never from a file path.
 */
final class ClContext {
    private static final Logger LOG = LoggerFactory.getLogger(ClContext.class);
    private static final String KERNEL_ROOT = "io/github/clattn/kernels/";
    private static final Map<Device, ClContext> SHARED = new HashMap<>();
    private static final AtomicInteger BINARY_LOADS = new AtomicInteger();
    private static final AtomicInteger SOURCE_BUILDS = new AtomicInteger();
    /** Kernel sources by file name: read from the classpath once, or replaced by {@link #overrideSource}. */
    private static final Map<String, String> SOURCES = new java.util.concurrent.ConcurrentHashMap<>();

    final Device device;
    final cl_device_id deviceId;
    final cl_context context;
    private final Map<String, cl_program> programs = new LinkedHashMap<>();
    private int references;

    private ClContext(Device device) {
        this.device = device;
        this.deviceId = OpenClRuntime.handle(device);
        this.context = Cl.createContext(deviceId);
    }

    /** The shared context of {@code device}, created on first use. Pair with {@link #release()}. */
    static ClContext acquire(Device device) {
        synchronized (SHARED) {
            ClContext c = SHARED.get(device);
            if (c == null) {
                c = new ClContext(device);
                SHARED.put(device, c);
                LOG.debug("Created OpenCL context on {}", device);
            }
            c.references++;
            return c;
        }
    }

    /** Drops one reference; the last one releases every program and the context. */
    void release() {
        synchronized (SHARED) {
            if (--references > 0) {
                return;
            }
            SHARED.remove(device);
            for (cl_program p : programs.values()) {
                Cl.release(p);
            }
            programs.clear();
            Cl.release(context);
            LOG.debug("Released OpenCL context on {}", device);
        }
    }

    /**
     * The program made of {@code files} (in order, after {@code common.cl}) built with
     * {@code options}; made on first request and kept for the life of the context. It is loaded
     * from the on-disk binary cache ({@link ProgramBinaryCache}) when a binary for this device,
     * driver, options and source is there and builds; otherwise it is built from source and the
     * binary is stored for the next process.
     */
    cl_program program(List<String> files, String options) {
        synchronized (SHARED) {
            String[] sources = sources(files);
            String diskKey = binaryKey(files, options, sources);
            cl_program p = programs.get(diskKey);
            if (p != null) {
                return p;
            }
            long start = System.nanoTime();
            p = fromBinary(diskKey, options);
            if (p != null) {
                BINARY_LOADS.incrementAndGet();
                LOG.debug("Loaded {} with '{}' on {} from the binary cache in {} ms", files, options, device.name(),
                        (System.nanoTime() - start) / 1_000_000);
            } else {
                SignalChaining.beforeInProcessCompile(); // one WARN per process when libjsig is not preloaded
                p = Cl.createProgram(context, sources);
                try {
                    Cl.build(p, deviceId, options);
                } catch (RuntimeException e) {
                    Cl.release(p);
                    throw e;
                }
                SOURCE_BUILDS.incrementAndGet();
                LOG.debug("Built {} with '{}' on {} in {} ms", files, options, device.name(),
                        (System.nanoTime() - start) / 1_000_000);
                try {
                    ProgramBinaryCache.store(diskKey, Cl.programBinary(p));
                } catch (RuntimeException e) {
                    LOG.debug("No program binary to cache: {}", e.toString());
                }
            }
            programs.put(diskKey, p);
            return p;
        }
    }

    /** The key of a program's binary on disk: device, driver, build options and a hash of the sources. */
    String binaryKey(List<String> files, String options) {
        return binaryKey(files, options, sources(files));
    }

    /** common.cl, then {@code files}. */
    private static String[] sources(List<String> files) {
        String[] sources = new String[files.size() + 1];
        sources[0] = source("common.cl");
        for (int i = 0; i < files.size(); i++) {
            sources[i + 1] = source(files.get(i));
        }
        return sources;
    }

    private String binaryKey(List<String> files, String options, String[] sources) {
        return "device=" + device.name() + "\nvendor=" + device.info().vendor() + "\nplatform="
                + device.info().platform() + "\ndriver=" + device.info().driverVersion() + "\noptions=" + options
                + "\nfiles=" + files
                + "\nsource-sha256=" + CacheDir.sha256(String.join("\n", sources));
    }

    /** The program from a cached binary, or null (nothing cached, or it did not load or build). */
    private cl_program fromBinary(String diskKey, String options) {
        byte[] binary = ProgramBinaryCache.load(diskKey);
        if (binary == null) {
            return null;
        }
        cl_program p = null;
        try {
            p = Cl.createProgramWithBinary(context, deviceId, binary);
            Cl.build(p, deviceId, options);
            return p;
        } catch (RuntimeException e) {
            LOG.debug("Cached program binary rejected ({}); building from source", e.getMessage());
            if (p != null) {
                Cl.release(p);
            }
            return null;
        }
    }

    /** Programs loaded from the disk cache in this process (for tests). */
    static int binaryLoads() {
        return BINARY_LOADS.get();
    }

    /** Programs built from source in this process (for tests). */
    static int sourceBuilds() {
        return SOURCE_BUILDS.get();
    }

    /**
     * Test seam: programs made from now on use {@code text} as the kernel file {@code file}
     * ({@code null} restores the file from the classpath). Used to prove that the self-check and the
     * tuner's validation catch a wrong kernel. Programs already built are unaffected; the program
     * caches key on the source text, so nothing built from the replacement is confused with the real one.
     */
    static void overrideSource(String file, String text) {
        if (text == null) {
            SOURCES.remove(file);
        } else {
            SOURCES.put(file, text);
        }
    }

    /** The text of a kernel file, from the classpath unless {@link #overrideSource} replaced it. */
    static String source(String file) {
        return SOURCES.computeIfAbsent(file, ClContext::readSource);
    }

    private static String readSource(String file) {
        try (InputStream in = ClContext.class.getClassLoader().getResourceAsStream(KERNEL_ROOT + file)) {
            if (in == null) {
                throw new ClattnException("kernel source " + KERNEL_ROOT + file + " is not on the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ClattnException("cannot read kernel source " + KERNEL_ROOT + file, e);
        }
    }
}
