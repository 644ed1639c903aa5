package io.github.clattn.opencl;

import io.github.clattn.Device;
import io.github.clattn.DeviceInfo;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enumerates OpenCL platforms and devices once per process. Loading the native library, finding
 * no ICD or platform, and finding no device are recorded as a reason instead of thrown, so the
 * caller can fall back to the Java path and say why.
 */
final class OpenClRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClRuntime.class);

    private static List<Device> devices;
    private static List<cl_device_id> handles;
    private static String unavailableReason;

    private OpenClRuntime() {
    }

    /** Every OpenCL device in platform then device order; empty when OpenCL is unavailable. */
    static synchronized List<Device> devices() {
        enumerate();
        return devices;
    }

    /** Why no OpenCL device can be used, or null when at least one exists. */
    static synchronized String unavailableReason() {
        enumerate();
        return unavailableReason;
    }

    static synchronized cl_device_id handle(Device device) {
        enumerate();
        if (!device.backend().equals(OpenClProvider.NAME) || device.index() < 0 || device.index() >= handles.size()
                || !devices.get(device.index()).equals(device)) {
            throw new IllegalArgumentException("device: not an OpenCL device of this process: " + device);
        }
        return handles.get(device.index());
    }

    /**
     * {@code CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT} of an OpenCL device of this process (16 on
     * PoCL with AVX-512, 8 with AVX2), or 0 when it reports none.
     */
    static int preferredFloatWidth(Device device) {
        return (int) deviceInt(handle(device), CL.CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT);
    }

    private static void enumerate() {
        if (devices != null) {
            return;
        }
        List<Device> found = new ArrayList<>();
        List<cl_device_id> ids = new ArrayList<>();
        String reason = null;
        try {
            JoclLoader.initialize(); // without JOCL's own native line when libOpenCL.so is missing
            int[] count = new int[1];
            int status = CL.clGetPlatformIDs(0, null, count);
            if (status != CL.CL_SUCCESS || count[0] == 0) {
                reason = "no OpenCL platform found (" + (status == CL.CL_SUCCESS ? "0 platforms" : Cl.errorName(status))
                        + "): no ICD is installed or OCL_ICD_VENDORS names none";
            } else {
                cl_platform_id[] platforms = new cl_platform_id[count[0]];
                CL.clGetPlatformIDs(platforms.length, platforms, null);
                for (cl_platform_id platform : platforms) {
                    addDevices(platform, found, ids);
                }
                if (found.isEmpty()) {
                    reason = "OpenCL platforms exist but report no device";
                }
            }
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            reason = "the OpenCL library could not be loaded (" + e.getMessage()
                    + "); JOCL needs the unversioned libOpenCL.so, which Debian ships in ocl-icd-opencl-dev";
            if (LOG.isDebugEnabled()) {
                LOG.debug("OpenCL load failure; System.loadLibrary(\"OpenCL\") says: {}", JoclLoader.probe(), e);
            }
        } catch (RuntimeException e) {
            reason = "OpenCL enumeration failed: " + e;
            LOG.debug("OpenCL enumeration failure", e);
        }
        devices = List.copyOf(found);
        handles = List.copyOf(ids);
        unavailableReason = reason;
        LOG.debug("OpenCL devices: {}{}", devices, reason == null ? "" : " (" + reason + ")");
    }

    private static void addDevices(cl_platform_id platform, List<Device> found, List<cl_device_id> ids) {
        int[] count = new int[1];
        int status = CL.clGetDeviceIDs(platform, CL.CL_DEVICE_TYPE_ALL, 0, null, count);
        if (status != CL.CL_SUCCESS || count[0] == 0) {
            LOG.debug("Platform {} has no device ({})", platformString(platform, CL.CL_PLATFORM_NAME), Cl.errorName(status));
            return;
        }
        cl_device_id[] devs = new cl_device_id[count[0]];
        CL.clGetDeviceIDs(platform, CL.CL_DEVICE_TYPE_ALL, devs.length, devs, null);
        String platformName = platformString(platform, CL.CL_PLATFORM_NAME);
        SignalChaining.afterDevicesStarted(platformName); // one WARN per process when libjsig is not preloaded
        for (cl_device_id d : devs) {
            long t = deviceLong(d, CL.CL_DEVICE_TYPE);
            Device.Type type = (t & CL.CL_DEVICE_TYPE_GPU) != 0 ? Device.Type.GPU
                    : (t & CL.CL_DEVICE_TYPE_ACCELERATOR) != 0 ? Device.Type.ACCELERATOR
                    : (t & CL.CL_DEVICE_TYPE_CPU) != 0 ? Device.Type.CPU : Device.Type.OTHER;
            DeviceInfo info = new DeviceInfo(platformName, deviceString(d, CL.CL_DEVICE_VENDOR),
                    deviceString(d, CL.CL_DEVICE_VERSION), deviceString(d, CL.CL_DRIVER_VERSION),
                    (int) deviceInt(d, CL.CL_DEVICE_MAX_COMPUTE_UNITS), deviceLong(d, CL.CL_DEVICE_GLOBAL_MEM_SIZE),
                    deviceLong(d, CL.CL_DEVICE_LOCAL_MEM_SIZE), deviceLong(d, CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                    deviceSize(d, CL.CL_DEVICE_MAX_WORK_GROUP_SIZE));
            found.add(Device.of(OpenClProvider.NAME, found.size(), deviceString(d, CL.CL_DEVICE_NAME), type, info));
            ids.add(d);
        }
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String cString(byte[] buf) {
        int n = buf.length;
        while (n > 0 && buf[n - 1] == 0) {
            n--;
        }
        return new String(buf, 0, n, StandardCharsets.UTF_8).trim();
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static long deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0] & 0xffffffffL;
    }

    private static long deviceSize(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }
}
