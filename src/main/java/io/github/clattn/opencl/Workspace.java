package io.github.clattn.opencl;

import io.github.clattn.Device;
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
 *
 * <p>Host data goes in by {@link #upload}. On a CPU device each upload creates its buffer anew with
 * a copy of the data ({@code CL_MEM_COPY_HOST_PTR}), and the buffer of the previous upload under
 * that name is released: the copy runs in the calling thread in a few microseconds, while a
 * blocking write waits for the driver's worker threads to wake, take it and finish it (on PoCL in
 * a virtual machine, tens of microseconds per write, and a call of 128 rows made two). Uploads
 * above {@value #COPIED_UPLOAD_BYTES} bytes, and every upload on other devices (a GPU would
 * allocate device memory per call), reuse the named buffer and write it.
 */
final class Workspace {
    /**
     * The largest upload copied into a new buffer. On PoCL a copy, a kernel and a finish beat a
     * write, the kernel and a finish at every size tried (1 MB: 101 against 157 µs; 4 MB: 137-152
     * against 208-222; 8 MB: 250-268 against 278-303), by less as the size grows: the new
     * allocation's pages are touched anew.
     */
    static final long COPIED_UPLOAD_BYTES = 4 << 20;

    private final ClContext context;
    private final Map<String, cl_mem> buffers = new HashMap<>();
    private final Map<String, Long> sizes = new HashMap<>();
    private final boolean copyUploads;

    Workspace(ClContext context) {
        this(context, context.device.type() == Device.Type.CPU);
    }

    /** A workspace whose uploads create their buffers with a copy ({@code copyUploads}) or write them. */
    Workspace(ClContext context, boolean copyUploads) {
        this.context = context;
        this.copyUploads = copyUploads;
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

    /** A buffer named {@code name} holding the first {@code count} floats of {@code host}. */
    cl_mem upload(String name, cl_command_queue queue, float[] host, int count) {
        long bytes = (long) count * Sizeof.cl_float;
        if (!copies(bytes)) {
            cl_mem m = buffer(name, bytes);
            if (bytes > 0) {
                Cl.write(queue, m, host, count);
            }
            return m;
        }
        return replace(name, Cl.createBuffer(context.context, CL.CL_MEM_READ_WRITE, bytes, host), bytes);
    }

    /** A buffer named {@code name} holding {@code host}. */
    cl_mem upload(String name, cl_command_queue queue, int[] host) {
        long bytes = (long) host.length * Sizeof.cl_int;
        if (!copies(bytes)) {
            cl_mem m = buffer(name, bytes);
            if (bytes > 0) {
                Cl.write(queue, m, host);
            }
            return m;
        }
        return replace(name, Cl.createBuffer(context.context, host), bytes);
    }

    private boolean copies(long bytes) {
        return copyUploads && bytes > 0 && bytes <= COPIED_UPLOAD_BYTES;
    }

    /**
     * Makes {@code m} the buffer named {@code name}, releasing the one before (commands still
     * queued that use it keep it alive until they finish).
     */
    private cl_mem replace(String name, cl_mem m, long bytes) {
        Cl.release(buffers.put(name, m));
        sizes.put(name, Math.max(bytes, Sizeof.cl_float));
        return m;
    }

    void release() {
        buffers.values().forEach(Cl::release);
        buffers.clear();
        sizes.clear();
    }
}
