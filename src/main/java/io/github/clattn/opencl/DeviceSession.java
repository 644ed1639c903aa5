package io.github.clattn.opencl;

import io.github.clattn.AttentionOptions;
import io.github.clattn.Device;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.NativePointerObject;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_mem;

/**
 * What every OpenCL object that computes holds (a layer, attention on pre-projected tensors, a
 * cache): a reference on the device's shared context, its own queue and kernel objects (kernel
 * arguments are per-object state, so calls on one object are serialized), a workspace of reusable
 * buffers, and the objects it created, released in reverse order by {@link #releaseSession()}.
 */
abstract class DeviceSession {
    final Device device;
    final ClContext shared;
    final Workspace workspace;
    private final List<NativePointerObject> owned = new ArrayList<>();
    cl_command_queue queue;
    FusedKernels fused;
    /** A one-float buffer standing in for absent optional arguments. */
    cl_mem none;
    /** The score modifiers of the session's options, on the device. */
    ScoreMods mods;

    DeviceSession(Device device) {
        this.device = device;
        this.shared = ClContext.acquire(device);
        this.workspace = new Workspace(shared);
    }

    /**
     * The queue, the fused kernels of {@code variant} for {@code layout}, the placeholder buffer and
     * the score modifiers of {@code options}.
     */
    void start(KernelVariant variant, KernelParams params, FusedLayout layout, AttentionOptions options) {
        queue = own(Cl.createQueue(shared.context, shared.deviceId, true));
        fused = new FusedKernels(shared, variant, params, layout);
        none = own(Cl.createBuffer(shared.context, CL.CL_MEM_READ_ONLY, Sizeof.cl_float, new float[1]));
        mods = ScoreMods.of(options, this);
    }

    <T extends NativePointerObject> T own(T object) {
        owned.add(object);
        return object;
    }

    /** A workspace buffer named {@code name} holding {@code count} floats of {@code host} ({@link Workspace#upload}). */
    cl_mem upload(String name, float[] host, int count) {
        return workspace.upload(name, queue, host, count);
    }

    /** A workspace buffer named {@code name} holding {@code host}. */
    cl_mem upload(String name, int[] host) {
        return workspace.upload(name, queue, host);
    }

    /** {@code count} floats of {@code buffer}, read blocking (so every kernel before it is done). */
    float[] read(cl_mem buffer, int count) {
        float[] host = new float[count];
        Cl.read(queue, buffer, host, count);
        return host;
    }

    /** Refuses a buffer larger than the device's largest allocation, before anything is allocated. */
    void requireFits(String tensor, long bytes) {
        DeviceLimits.requireFits(device, tensor, bytes);
    }

    /** Refuses when {@code bytes} in all exceed the device's memory, before anything is allocated. */
    void requireFitsTotal(long bytes) {
        if (bytes > device.info().globalMemBytes()) {
            throw new IllegalArgumentException("input: needs " + bytes + " bytes of device memory in all, more than "
                    + device.name() + "'s CL_DEVICE_GLOBAL_MEM_SIZE = " + device.info().globalMemBytes()
                    + " bytes; use fewer rows per call (smaller batch or sequence)");
        }
    }

    /** Releases the workspace, the kernels and every owned object, then the context reference. */
    void releaseSession() {
        workspace.release();
        if (fused != null) {
            fused.release();
            fused = null;
        }
        for (int i = owned.size() - 1; i >= 0; i--) {
            Cl.release(owned.get(i));
        }
        owned.clear();
        shared.release();
    }
}
