package io.github.clattn.opencl;

import io.github.clattn.Device;

/** Refusals that name the device limit a size exceeds, made before anything is allocated. */
final class DeviceLimits {
    private DeviceLimits() {
    }

    static void requireFits(Device device, String tensor, long bytes) {
        if (bytes > device.info().maxAllocBytes()) {
            throw new IllegalArgumentException(tensor + ": needs a device buffer of " + bytes + " bytes, more than "
                    + device.name() + "'s maximum allocation CL_DEVICE_MAX_MEM_ALLOC_SIZE = "
                    + device.info().maxAllocBytes() + " bytes; use fewer rows per call (smaller batch or sequence)");
        }
    }
}
