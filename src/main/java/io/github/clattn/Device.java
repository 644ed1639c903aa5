package io.github.clattn;

import java.util.Locale;

/**
 * One place attention can run: a device of a backend ({@code opencl}, or {@code java} for the
 * pure-Java path). A small value class; get instances from {@link Devices}. The details a device
 * reports about itself are in {@link #info()}.
 *
 * <p>{@link #spec()} is the string that selects this device again: {@code java}, or
 * {@code opencl:I} where I is the device's position among all OpenCL devices of all platforms.
 */
public final class Device {
    /** The device type (the Java path reports {@code CPU}). */
    public enum Type {
        /** A CPU: an OpenCL CPU device such as PoCL's, or the Java path. */
        CPU,
        /** A GPU ({@code CL_DEVICE_TYPE_GPU}). */
        GPU,
        /** An accelerator ({@code CL_DEVICE_TYPE_ACCELERATOR}). */
        ACCELERATOR,
        /** Any other OpenCL device type. */
        OTHER
    }

    /** The backend name of the pure-Java path. */
    public static final String JAVA = "java";

    private final String backend;
    private final int index;
    private final String name;
    private final Type type;
    private final DeviceInfo info;
    private final boolean automatic;

    private Device(String backend, int index, String name, Type type, DeviceInfo info, boolean automatic) {
        this.backend = backend;
        this.index = index;
        this.name = name;
        this.type = type;
        this.info = info;
        this.automatic = automatic;
    }

    /**
     * A device as a backend enumerates it. Applications get devices from {@link Devices} instead.
     *
     * @param backend the backend name, {@code opencl} or {@value #JAVA}
     * @param index   its position among that backend's devices
     * @param name    the device name
     * @param type    the device type
     * @param info    what the device reports
     * @return the device, not marked as automatic
     */
    public static Device of(String backend, int index, String name, Type type, DeviceInfo info) {
        return new Device(backend, index, name, type, info, false);
    }

    /** {@return the pure-Java path, using every core of this JVM} */
    public static Device java() {
        Runtime rt = Runtime.getRuntime();
        DeviceInfo info = new DeviceInfo("Java", System.getProperty("java.vendor", "?"), "-",
                System.getProperty("java.version", "?"), rt.availableProcessors(), rt.maxMemory(), 0,
                Integer.MAX_VALUE * 4L, 1);
        return new Device(JAVA, -1, "Java (pure-Java path)", Type.CPU, info, false);
    }

    /** The same device, marked as chosen by the automatic rule (failures then fall back to Java). */
    Device asAutomatic() {
        return new Device(backend, index, name, type, info, true);
    }

    /** {@return the backend that runs on this device: {@code opencl} or {@code java}} */
    public String backend() {
        return backend;
    }

    /** {@return whether this is the pure-Java path} */
    public boolean isJava() {
        return JAVA.equals(backend);
    }

    /** {@return the position among the backend's devices, or -1 for the Java path} */
    public int index() {
        return index;
    }

    /** {@return the device name as the driver reports it (the Java path: {@code Java (pure-Java path)})} */
    public String name() {
        return name;
    }

    /** {@return the device type} */
    public Type type() {
        return type;
    }

    /** {@return what the device reports: platform, driver, compute units, memory sizes} */
    public DeviceInfo info() {
        return info;
    }

    /** {@return whether the automatic rule chose this device (a device failure then falls back to Java)} */
    public boolean automatic() {
        return automatic;
    }

    /** {@return the device spec that selects this device: {@code java} or {@code opencl:I}} */
    public String spec() {
        return isJava() ? JAVA : backend + ":" + index;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d && d.backend.equals(backend) && d.index == index && d.name.equals(name);
    }

    @Override
    public int hashCode() {
        return backend.hashCode() * 31 + index * 17 + name.hashCode();
    }

    @Override
    public String toString() {
        if (isJava()) {
            return "java (" + info.computeUnits() + " threads)";
        }
        return String.format(Locale.ROOT, "%s [%s, %s, %s]", spec(), name, type.name().toLowerCase(Locale.ROOT),
                info.platform());
    }
}
