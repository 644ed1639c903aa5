package io.github.clattn;

import java.util.Locale;

/**
 * One place attention can run: an OpenCL device, or the pure-Java path. A small value class;
 * get instances from {@link Devices}, never construct them.
 *
 * <p>{@link #spec()} is the string that selects this device again ({@code java} or
 * {@code opencl:I}, where I is the device's position among all OpenCL devices of all platforms).
 */
public final class Device {
    /** Where the computation runs. */
    public enum Kind { JAVA, OPENCL }

    /** The OpenCL device type (the Java path reports {@code CPU}). */
    public enum Type { CPU, GPU, ACCELERATOR, OTHER }

    private final Kind kind;
    private final int index;
    private final String platformName;
    private final String name;
    private final String vendor;
    private final Type type;
    private final String driverVersion;
    private final String openclVersion;
    private final int computeUnits;
    private final long globalMemBytes;
    private final long localMemBytes;
    private final long maxAllocBytes;
    private final long maxWorkGroupSize;
    private final boolean automatic;

    private Device(Kind kind, int index, String platformName, String name, String vendor, Type type,
                   String driverVersion, String openclVersion, int computeUnits, long globalMemBytes,
                   long localMemBytes, long maxAllocBytes, long maxWorkGroupSize, boolean automatic) {
        this.kind = kind;
        this.index = index;
        this.platformName = platformName;
        this.name = name;
        this.vendor = vendor;
        this.type = type;
        this.driverVersion = driverVersion;
        this.openclVersion = openclVersion;
        this.computeUnits = computeUnits;
        this.globalMemBytes = globalMemBytes;
        this.localMemBytes = localMemBytes;
        this.maxAllocBytes = maxAllocBytes;
        this.maxWorkGroupSize = maxWorkGroupSize;
        this.automatic = automatic;
    }

    /** An OpenCL device as enumerated by the opencl package; {@code index} is its position in {@link Devices#openCl()}. */
    public static Device openCl(int index, String platformName, String name, String vendor, Type type,
                                String driverVersion, String openclVersion, int computeUnits, long globalMemBytes,
                                long localMemBytes, long maxAllocBytes, long maxWorkGroupSize) {
        return new Device(Kind.OPENCL, index, platformName, name, vendor, type, driverVersion, openclVersion,
                computeUnits, globalMemBytes, localMemBytes, maxAllocBytes, maxWorkGroupSize, false);
    }

    /** The pure-Java path, using every core of this JVM. */
    public static Device java() {
        Runtime rt = Runtime.getRuntime();
        return new Device(Kind.JAVA, -1, "Java", "Java (pure-Java path)", System.getProperty("java.vendor", "?"),
                Type.CPU, System.getProperty("java.version", "?"), "-", rt.availableProcessors(), rt.maxMemory(),
                0, Integer.MAX_VALUE * 4L, 1, false);
    }

    /** The same device, marked as chosen by the automatic rule (failures then fall back to Java). */
    Device asAutomatic() {
        return new Device(kind, index, platformName, name, vendor, type, driverVersion, openclVersion, computeUnits,
                globalMemBytes, localMemBytes, maxAllocBytes, maxWorkGroupSize, true);
    }

    public Kind kind() {
        return kind;
    }

    public boolean isJava() {
        return kind == Kind.JAVA;
    }

    public boolean isOpenCl() {
        return kind == Kind.OPENCL;
    }

    /** Position among all OpenCL devices, or -1 for the Java path. */
    public int index() {
        return index;
    }

    public String platformName() {
        return platformName;
    }

    public String name() {
        return name;
    }

    public String vendor() {
        return vendor;
    }

    public Type type() {
        return type;
    }

    public String driverVersion() {
        return driverVersion;
    }

    /** The device's OpenCL version string, {@code -} for the Java path. */
    public String openclVersion() {
        return openclVersion;
    }

    public int computeUnits() {
        return computeUnits;
    }

    public long globalMemBytes() {
        return globalMemBytes;
    }

    public long localMemBytes() {
        return localMemBytes;
    }

    /** The largest single buffer the device accepts ({@code CL_DEVICE_MAX_MEM_ALLOC_SIZE}). */
    public long maxAllocBytes() {
        return maxAllocBytes;
    }

    public long maxWorkGroupSize() {
        return maxWorkGroupSize;
    }

    /** True when the automatic rule chose this device: an OpenCL failure then falls back to Java. */
    public boolean automatic() {
        return automatic;
    }

    /** The device spec that selects this device: {@code java} or {@code opencl:I}. */
    public String spec() {
        return isJava() ? "java" : "opencl:" + index;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d && d.kind == kind && d.index == index && d.name.equals(name);
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + index * 17 + name.hashCode();
    }

    @Override
    public String toString() {
        if (isJava()) {
            return "java (" + computeUnits + " threads)";
        }
        return String.format(Locale.ROOT, "%s [%s, %s, %s]", spec(), name, type.name().toLowerCase(Locale.ROOT),
                platformName);
    }
}
