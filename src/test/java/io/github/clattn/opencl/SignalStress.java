package io.github.clattn.opencl;

import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.clBuildProgram;
import static org.jocl.CL.clCreateContext;
import static org.jocl.CL.clCreateKernel;
import static org.jocl.CL.clCreateProgramWithSource;
import static org.jocl.CL.clGetDeviceIDs;
import static org.jocl.CL.clGetPlatformIDs;
import static org.jocl.CL.clReleaseContext;
import static org.jocl.CL.clReleaseKernel;
import static org.jocl.CL.clReleaseProgram;
import static org.jocl.CL.setExceptionsEnabled;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;

/**
 * Not a test: a reproducer for the libjsig question (docs/libjsig.md). Builds {@code args[0]}
 * distinct programs from source on the first OpenCL device while {@code args[1]} threads (default
 * 4) allocate, so that the JVM's own SIGSEGVs (safepoint polls) keep arriving during the builds.
 * Prints "OK" and exits 0, or ends with the driver's build failure or a signal. Run it from the
 * repository root after {@code mvn test-compile}, with and without {@code LD_PRELOAD}:
 *
 * <pre>
 * CP=target/test-classes:$(ls ~/.m2/repository/org/jocl/jocl/2.0.5/jocl-2.0.5.jar)
 * env -u LD_PRELOAD POCL_KERNEL_CACHE=0 java -Xmx512m -cp $CP io.github.clattn.opencl.SignalStress 30
 * LD_PRELOAD=$JAVA_HOME/lib/libjsig.so POCL_KERNEL_CACHE=0 java -Xmx512m -cp $CP io.github.clattn.opencl.SignalStress 30
 * </pre>
 */
public final class SignalStress {
    static volatile Object sink;

    private SignalStress() {
    }

    public static void main(String[] args) {
        int builds = Integer.parseInt(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        setExceptionsEnabled(true);
        cl_platform_id[] platform = new cl_platform_id[1];
        clGetPlatformIDs(1, platform, null);
        cl_device_id[] device = new cl_device_id[1];
        clGetDeviceIDs(platform[0], CL_DEVICE_TYPE_ALL, 1, device, null);
        cl_context context = clCreateContext(null, 1, device, null, null, null);
        AtomicBoolean stop = new AtomicBoolean();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread worker = new Thread(() -> {
                long n = 0;
                while (!stop.get()) {
                    if (id == 0) {
                        sink = new byte[1 << 16];
                    } else if (id == 1 && (n & 0xfffff) == 0) {
                        System.gc();
                    } else {
                        sink = new long[(int) (n & 1023)];
                    }
                    n++;
                }
            });
            worker.setDaemon(true);
            worker.start();
        }
        long seed = System.nanoTime();
        for (int i = 0; i < builds; i++) {
            String source = "kernel void k(global float* a, int n) { int i = get_global_id(0); if (i < n) a[i] = a[i] * X + "
                    + (seed + i) + ".0f; }";
            cl_program program = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
            clBuildProgram(program, 0, null, "-DX=" + (i + 2) + ".0f", null, null);
            clReleaseKernel(clCreateKernel(program, "k", null));
            clReleaseProgram(program);
        }
        stop.set(true);
        clReleaseContext(context);
        System.out.println("OK: " + builds + " programs built with " + threads + " allocating threads");
    }
}
