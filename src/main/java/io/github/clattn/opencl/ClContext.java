package io.github.clattn.opencl;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One OpenCL context per device, shared by every layer on that device and reference-counted:
 * the last {@link #release()} releases the context and every program built in it. Programs are
 * built once per (kernel files, build options) and cached; kernel sources come from the classpath
 * ({@code io/github/clattn/kernels/*.cl}), never from a file path.
 */
final class ClContext {
    private static final Logger LOG = LoggerFactory.getLogger(ClContext.class);
    private static final String KERNEL_ROOT = "io/github/clattn/kernels/";
    private static final Map<Device, ClContext> SHARED = new HashMap<>();

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
     * {@code options}; built on first request and cached for the life of the context.
     */
    cl_program program(List<String> files, String options) {
        String key = files + "|" + options;
        synchronized (SHARED) {
            cl_program p = programs.get(key);
            if (p != null) {
                return p;
            }
            String[] sources = new String[files.size() + 1];
            sources[0] = source("common.cl");
            for (int i = 0; i < files.size(); i++) {
                sources[i + 1] = source(files.get(i));
            }
            long start = System.nanoTime();
            p = Cl.createProgram(context, sources);
            try {
                Cl.build(p, deviceId, options);
            } catch (RuntimeException e) {
                Cl.release(p);
                throw e;
            }
            LOG.debug("Built {} with '{}' on {} in {} ms", files, options, device.name(),
                    (System.nanoTime() - start) / 1_000_000);
            programs.put(key, p);
            return p;
        }
    }

    /** The text of a kernel file from the classpath. */
    static String source(String file) {
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
