package io.github.clattn.core;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Bytes of Java heap threads have allocated, from HotSpot's {@code com.sun.management.ThreadMXBean},
 * reached by reflection (this module does not read {@code jdk.management}, which a runtime may lack).
 * Used by the Java path's boxed-kernel watch and by {@code compare-ort}. Every method returns -1
 * where the JVM does not count allocations.
 */
public final class ThreadAllocations {
    private static final ThreadMXBean BEAN = ManagementFactory.getThreadMXBean();
    /** {@code getCurrentThreadAllocatedBytes()} bound to the bean, or null. */
    private static final MethodHandle CURRENT;
    /** {@code getThreadAllocatedBytes(long[])} bound to the bean, or null. */
    private static final MethodHandle BY_IDS;

    static {
        MethodHandle current = null;
        MethodHandle byIds = null;
        try {
            Class<?> hotspot = Class.forName("com.sun.management.ThreadMXBean");
            if (hotspot.isInstance(BEAN) && (Boolean) hotspot.getMethod("isThreadAllocatedMemoryEnabled").invoke(BEAN)) {
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                current = lookup.findVirtual(hotspot, "getCurrentThreadAllocatedBytes",
                        MethodType.methodType(long.class)).bindTo(BEAN);
                byIds = lookup.findVirtual(hotspot, "getThreadAllocatedBytes",
                        MethodType.methodType(long[].class, long[].class)).bindTo(BEAN);
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            current = null;
            byIds = null;
        }
        CURRENT = current;
        BY_IDS = byIds;
    }

    private ThreadAllocations() {
    }

    /** Bytes the calling thread has allocated so far, or -1. */
    public static long current() {
        if (CURRENT == null) {
            return -1;
        }
        try {
            return (long) CURRENT.invokeExact();
        } catch (Throwable e) {
            return -1;
        }
    }

    /** Bytes the live threads have allocated so far, together, or -1. */
    public static long liveThreads() {
        if (BY_IDS == null) {
            return -1;
        }
        try {
            long sum = 0;
            for (long b : (long[]) BY_IDS.invokeExact(BEAN.getAllThreadIds())) {
                sum += Math.max(0, b); // -1: the thread ended meanwhile
            }
            return sum;
        } catch (Throwable e) {
            return -1;
        }
    }
}
