package io.github.clattn;

/**
 * What a device reports about itself, for listings and limits. The Java path fills in its JVM:
 * {@code computeUnits} its threads, {@code globalMemBytes} the maximum heap.
 *
 * @param platform         the OpenCL platform name ({@code Java} for the Java path)
 * @param vendor           the device vendor (the JVM vendor for the Java path)
 * @param version          the device's OpenCL version string ({@code -} for the Java path)
 * @param driverVersion    the driver version (the Java version for the Java path)
 * @param computeUnits     {@code CL_DEVICE_MAX_COMPUTE_UNITS}, or the Java path's threads
 * @param globalMemBytes   {@code CL_DEVICE_GLOBAL_MEM_SIZE}, or the maximum heap
 * @param localMemBytes    {@code CL_DEVICE_LOCAL_MEM_SIZE} (0 for the Java path)
 * @param maxAllocBytes    the largest single buffer, {@code CL_DEVICE_MAX_MEM_ALLOC_SIZE}
 * @param maxWorkGroupSize {@code CL_DEVICE_MAX_WORK_GROUP_SIZE} (1 for the Java path)
 */
public record DeviceInfo(String platform, String vendor, String version, String driverVersion, int computeUnits,
                         long globalMemBytes, long localMemBytes, long maxAllocBytes, long maxWorkGroupSize) {
}
