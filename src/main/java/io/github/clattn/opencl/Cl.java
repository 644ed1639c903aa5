package io.github.clattn.opencl;

import io.github.clattn.ClattnException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jocl.CL;
import org.jocl.NativePointerObject;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The only place clattn calls OpenCL that creates, releases or enqueues: every status is checked
 * and turned into a {@link ClattnException} naming the call and the OpenCL error, every object
 * created is counted until it is released, and a test seam can make the Nth call fail.
 *
 * <p>JOCL exceptions are left disabled (a process-wide switch the host application may own);
 * statuses are checked here instead.
 */
public final class Cl {
    private static final Map<String, AtomicInteger> LIVE = new ConcurrentHashMap<>();
    private static final AtomicLong CALLS_UNTIL_FAULT = new AtomicLong(-1);
    private static final AtomicLong LIVE_BUFFER_BYTES = new AtomicLong();
    private static volatile int faultStatus;
    private static volatile boolean faultRepeats;

    private Cl() {
    }

    // ---- counting and fault injection -------------------------------------------------------

    /** The number of OpenCL objects clattn created and has not released yet, all kinds together. */
    public static int liveObjects() {
        return LIVE.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    /** Bytes of device memory held by the buffers clattn created and has not released yet. */
    public static long liveBufferBytes() {
        return LIVE_BUFFER_BYTES.get();
    }

    /** Live objects by kind (context, queue, program, kernel, mem, event). */
    public static Map<String, Integer> liveObjectsByKind() {
        Map<String, Integer> m = new java.util.TreeMap<>();
        LIVE.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }

    /**
     * Test seam: the {@code n}-th OpenCL call from now (1 = the next one) fails with {@code status}
     * (for example {@link CL#CL_OUT_OF_RESOURCES}) before it reaches the driver. {@code n <= 0} clears it.
     */
    public static void injectFault(long n, int status) {
        faultRepeats = false;
        faultStatus = status;
        CALLS_UNTIL_FAULT.set(n <= 0 ? -1 : n);
    }

    /** Test seam: every OpenCL call from now on fails with {@code status} until {@link #injectFault} clears it. */
    public static void injectPersistentFault(int status) {
        faultStatus = status;
        faultRepeats = true;
        CALLS_UNTIL_FAULT.set(1);
    }

    private static void before(String call) {
        if (CALLS_UNTIL_FAULT.get() > 0 && CALLS_UNTIL_FAULT.decrementAndGet() == 0) {
            CALLS_UNTIL_FAULT.set(faultRepeats ? 1 : -1);
            throw failure(call, faultStatus, " (injected fault)");
        }
    }

    static ClattnException failure(String call, int status, String detail) {
        String name = errorName(status);
        return new ClattnException(call + " failed: " + name + detail, null, call, name);
    }

    /** The OpenCL name of a status code, such as {@code CL_OUT_OF_RESOURCES}. */
    public static String errorName(int status) {
        try {
            return CL.stringFor_errorCode(status);
        } catch (LinkageError e) {
            return "OpenCL status " + status;
        }
    }

    /** Throws when {@code status} is not {@code CL_SUCCESS}. */
    static void check(String call, int status) {
        if (status != CL.CL_SUCCESS) {
            throw failure(call, status, "");
        }
    }

    private static <T> T created(String kind, String call, int[] status, T object) {
        check(call, status[0]);
        LIVE.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
        return object;
    }

    private static void released(String kind) {
        LIVE.computeIfAbsent(kind, k -> new AtomicInteger()).decrementAndGet();
    }

    // ---- objects ---------------------------------------------------------------------------

    static cl_context createContext(cl_device_id device) {
        before("clCreateContext");
        int[] err = new int[1];
        cl_context c = CL.clCreateContext(null, 1, new cl_device_id[] {device}, null, null, err);
        return created("context", "clCreateContext", err, c);
    }

    static cl_command_queue createQueue(cl_context context, cl_device_id device, boolean profiling) {
        before("clCreateCommandQueue");
        int[] err = new int[1];
        @SuppressWarnings("deprecation")
        cl_command_queue q = CL.clCreateCommandQueue(context, device,
                profiling ? CL.CL_QUEUE_PROFILING_ENABLE : 0, err);
        return created("queue", "clCreateCommandQueue", err, q);
    }

    static cl_program createProgram(cl_context context, String[] sources) {
        before("clCreateProgramWithSource");
        int[] err = new int[1];
        cl_program p = CL.clCreateProgramWithSource(context, sources.length, sources, null, err);
        return created("program", "clCreateProgramWithSource", err, p);
    }

    static cl_program createProgramWithBinary(cl_context context, cl_device_id device, byte[] binary) {
        before("clCreateProgramWithBinary");
        int[] err = new int[1];
        int[] binaryStatus = new int[1];
        cl_program p = CL.clCreateProgramWithBinary(context, 1, new cl_device_id[] {device},
                new long[] {binary.length}, new byte[][] {binary}, binaryStatus, err);
        created("program", "clCreateProgramWithBinary", err, p);
        if (binaryStatus[0] != CL.CL_SUCCESS) {
            release(p);
            throw failure("clCreateProgramWithBinary", binaryStatus[0], " (binary status)");
        }
        return p;
    }

    /** Builds {@code program}; on failure the exception message carries the build log. */
    static void build(cl_program program, cl_device_id device, String options) {
        before("clBuildProgram");
        int status;
        try {
            status = CL.clBuildProgram(program, 1, new cl_device_id[] {device}, options, null, null);
        } catch (org.jocl.CLException e) {
            status = e.getStatus();
        }
        if (status != CL.CL_SUCCESS) {
            String name = errorName(status);
            throw new ClattnException("clBuildProgram failed: " + name + " with options '" + options
                    + "'; build log:\n" + buildLog(program, device), null, "clBuildProgram", name);
        }
    }

    /** The device binary of a program built for exactly one device (CL_PROGRAM_BINARIES). */
    static byte[] programBinary(cl_program program) {
        before("clGetProgramInfo");
        long[] size = new long[1];
        check("clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)", CL.clGetProgramInfo(program, CL.CL_PROGRAM_BINARY_SIZES,
                Sizeof.size_t, Pointer.to(size), null));
        if (size[0] <= 0 || size[0] > Integer.MAX_VALUE - 8) {
            throw new ClattnException("clGetProgramInfo(CL_PROGRAM_BINARY_SIZES) reported " + size[0] + " bytes");
        }
        byte[] binary = new byte[(int) size[0]];
        check("clGetProgramInfo(CL_PROGRAM_BINARIES)", CL.clGetProgramInfo(program, CL.CL_PROGRAM_BINARIES,
                Sizeof.POINTER, Pointer.to(new Pointer[] {Pointer.to(binary)}), null));
        return binary;
    }

    static String buildLog(cl_program program, cl_device_id device) {
        long[] size = new long[1];
        CL.clGetProgramBuildInfo(program, device, CL.CL_PROGRAM_BUILD_LOG, 0, null, size);
        if (size[0] <= 1) {
            return "(empty)";
        }
        byte[] log = new byte[(int) size[0]];
        CL.clGetProgramBuildInfo(program, device, CL.CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
        return new String(log, 0, log.length - 1, java.nio.charset.StandardCharsets.UTF_8).trim();
    }

    static cl_kernel createKernel(cl_program program, String name) {
        before("clCreateKernel");
        int[] err = new int[1];
        cl_kernel k = CL.clCreateKernel(program, name, err);
        return created("kernel", "clCreateKernel(" + name + ")", err, k);
    }

    /** A device buffer of {@code bytes} (at least 4), optionally filled from {@code host}. */
    static cl_mem createBuffer(cl_context context, long flags, long bytes, float[] host) {
        before("clCreateBuffer");
        int[] err = new int[1];
        Pointer p = host == null ? null : Pointer.to(host);
        long f = host == null ? flags : flags | CL.CL_MEM_COPY_HOST_PTR;
        long size = Math.max(bytes, Sizeof.cl_float);
        cl_mem m = CL.clCreateBuffer(context, f, size, p, err);
        created("mem", "clCreateBuffer(" + bytes + " bytes)", err, m);
        LIVE_BUFFER_BYTES.addAndGet(size);
        return m;
    }

    /** A read-only device buffer holding {@code host}'s ints. */
    static cl_mem createBuffer(cl_context context, int[] host) {
        before("clCreateBuffer");
        int[] err = new int[1];
        long size = Math.max((long) host.length * Sizeof.cl_int, Sizeof.cl_int);
        cl_mem m = CL.clCreateBuffer(context, CL.CL_MEM_READ_ONLY | CL.CL_MEM_COPY_HOST_PTR, size,
                Pointer.to(host.length == 0 ? new int[1] : host), err);
        created("mem", "clCreateBuffer(" + size + " bytes)", err, m);
        LIVE_BUFFER_BYTES.addAndGet(size);
        return m;
    }

    static void release(NativePointerObject o) {
        if (o == null) {
            return;
        }
        if (o instanceof cl_mem m) {
            long[] size = new long[1];
            CL.clGetMemObjectInfo(m, CL.CL_MEM_SIZE, Sizeof.size_t, Pointer.to(size), null);
            LIVE_BUFFER_BYTES.addAndGet(-size[0]);
            CL.clReleaseMemObject(m);
            released("mem");
        } else if (o instanceof cl_kernel k) {
            CL.clReleaseKernel(k);
            released("kernel");
        } else if (o instanceof cl_program p) {
            CL.clReleaseProgram(p);
            released("program");
        } else if (o instanceof cl_command_queue q) {
            CL.clReleaseCommandQueue(q);
            released("queue");
        } else if (o instanceof cl_context c) {
            CL.clReleaseContext(c);
            released("context");
        } else if (o instanceof cl_event e) {
            CL.clReleaseEvent(e);
            released("event");
        } else {
            throw new IllegalArgumentException("not an OpenCL object: " + o);
        }
    }

    // ---- commands --------------------------------------------------------------------------

    static void setArg(cl_kernel kernel, int index, cl_mem value) {
        before("clSetKernelArg");
        check("clSetKernelArg(" + index + ")", CL.clSetKernelArg(kernel, index, Sizeof.cl_mem, Pointer.to(value)));
    }

    static void setArg(cl_kernel kernel, int index, int value) {
        before("clSetKernelArg");
        check("clSetKernelArg(" + index + ")", CL.clSetKernelArg(kernel, index, Sizeof.cl_int, Pointer.to(new int[] {value})));
    }

    static void setArg(cl_kernel kernel, int index, long value) {
        before("clSetKernelArg");
        check("clSetKernelArg(" + index + ")", CL.clSetKernelArg(kernel, index, Sizeof.cl_long, Pointer.to(new long[] {value})));
    }

    static void setArg(cl_kernel kernel, int index, float value) {
        before("clSetKernelArg");
        check("clSetKernelArg(" + index + ")", CL.clSetKernelArg(kernel, index, Sizeof.cl_float, Pointer.to(new float[] {value})));
    }

    /** Sets {@code __local} memory of {@code bytes} for argument {@code index}. */
    static void setLocalArg(cl_kernel kernel, int index, long bytes) {
        before("clSetKernelArg");
        check("clSetKernelArg(" + index + ")", CL.clSetKernelArg(kernel, index, bytes, null));
    }

    static void write(cl_command_queue queue, cl_mem buffer, float[] host, int count) {
        before("clEnqueueWriteBuffer");
        check("clEnqueueWriteBuffer", CL.clEnqueueWriteBuffer(queue, buffer, true, 0, (long) count * Sizeof.cl_float,
                Pointer.to(host), 0, null, null));
    }

    static void write(cl_command_queue queue, cl_mem buffer, int[] host) {
        before("clEnqueueWriteBuffer");
        check("clEnqueueWriteBuffer", CL.clEnqueueWriteBuffer(queue, buffer, true, 0, (long) host.length * Sizeof.cl_int,
                Pointer.to(host), 0, null, null));
    }

    static void read(cl_command_queue queue, cl_mem buffer, float[] host, int count) {
        before("clEnqueueReadBuffer");
        check("clEnqueueReadBuffer", CL.clEnqueueReadBuffer(queue, buffer, true, 0, (long) count * Sizeof.cl_float,
                Pointer.to(host), 0, null, null));
    }

    /**
     * Enqueues {@code kernel} over {@code global} (any sizes: with {@code local == null} the driver
     * picks the work-group; otherwise each global size is rounded up to a multiple of local).
     * Returns the kernel's event when {@code profile} is set (the caller releases it), else null.
     */
    static cl_event launch(cl_command_queue queue, cl_kernel kernel, long[] global, long[] local, boolean profile) {
        before("clEnqueueNDRangeKernel");
        long[] g = global.clone();
        if (local != null) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (g[i] + local[i] - 1) / local[i] * local[i];
            }
        }
        cl_event event = profile ? new cl_event() : null;
        check("clEnqueueNDRangeKernel", CL.clEnqueueNDRangeKernel(queue, kernel, g.length, null, g, local, 0, null, event));
        if (event != null) {
            LIVE.computeIfAbsent("event", k -> new AtomicInteger()).incrementAndGet();
        }
        return event;
    }

    static void finish(cl_command_queue queue) {
        before("clFinish");
        check("clFinish", CL.clFinish(queue));
    }

    /** Kernel execution time of a completed event in milliseconds (start to end). */
    static double eventMillis(cl_event event) {
        long[] start = new long[1];
        long[] end = new long[1];
        check("clGetEventProfilingInfo", CL.clGetEventProfilingInfo(event, CL.CL_PROFILING_COMMAND_START,
                Sizeof.cl_ulong, Pointer.to(start), null));
        check("clGetEventProfilingInfo", CL.clGetEventProfilingInfo(event, CL.CL_PROFILING_COMMAND_END,
                Sizeof.cl_ulong, Pointer.to(end), null));
        return (end[0] - start[0]) / 1e6;
    }
}
