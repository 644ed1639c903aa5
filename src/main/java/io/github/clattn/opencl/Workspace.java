package io.github.clattn.opencl;

import java.util.HashMap;
import java.util.Map;
import org.jocl.CL;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_mem;

/**
 * A layer's activation buffers, by name, reused across calls: each grows (release, then create)
 * to the largest size asked for. A buffer made {@code zeroed} is zero-filled once when created
 * (the fused layout's padding). Not thread-safe: its layer serializes calls.
 */
final class Workspace {
    private final ClContext context;
    private final Map<String, cl_mem> buffers = new HashMap<>();
    private final Map<String, Long> sizes = new HashMap<>();

    Workspace(ClContext context) {
        this.context = context;
    }

    /** A buffer of at least {@code bytes}; {@code zero} fills a new one with zeros on {@code queue}. */
    cl_mem buffer(String name, long bytes, FusedKernels zero, cl_command_queue queue) {
        cl_mem m = buffers.get(name);
        if (m != null && sizes.get(name) >= bytes) {
            return m;
        }
        if (m != null) {
            buffers.remove(name);
            sizes.remove(name);
            Cl.release(m);
        }
        long size = Math.max(bytes, Sizeof.cl_float);
        m = Cl.createBuffer(context.context, CL.CL_MEM_READ_WRITE, size, null);
        if (zero != null) {
            try {
                zero.zero(queue, m, size / Sizeof.cl_float);
            } catch (RuntimeException e) {
                Cl.release(m);
                throw e;
            }
        }
        buffers.put(name, m);
        sizes.put(name, size);
        return m;
    }

    /** A buffer of at least {@code bytes}, contents undefined. */
    cl_mem buffer(String name, long bytes) {
        return buffer(name, bytes, null, null);
    }

    void release() {
        buffers.values().forEach(Cl::release);
        buffers.clear();
        sizes.clear();
    }
}
