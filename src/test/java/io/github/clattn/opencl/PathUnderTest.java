package io.github.clattn.opencl;

import io.github.clattn.AttentionOutput;
import io.github.clattn.Device;
import io.github.clattn.reference.Problem;

/**
 * The three OpenCL paths every correctness test covers: the fused kernels in both variants
 * (forced, whatever the device type) and the staged path (taken when the weights are asked for).
 */
enum PathUnderTest {
    FUSED_CPU("opencl-fused-cpu"),
    FUSED_GPU("opencl-fused-gpu"),
    STAGED("opencl-staged");

    final String pathName;

    PathUnderTest(String pathName) {
        this.pathName = pathName;
    }

    KernelVariant variant() {
        return this == FUSED_GPU ? KernelVariant.GPU : KernelVariant.CPU;
    }

    /** The problem's call as this path takes it: asking for the weights exactly on the staged path. */
    Problem call(Problem p) {
        return p.withReturnWeights(this == STAGED);
    }

    /** Runs one call on this path, checks the path name, and compares with the float64 reference. */
    AttentionOutput runAndCheck(Device device, Problem p) {
        return runAndCheck(device, p, null);
    }

    /** As above with the fused kernels' parameters given (null: the device's tuning or defaults). */
    AttentionOutput runAndCheck(Device device, Problem p, KernelParams params) {
        Problem call = call(p);
        AttentionOutput got;
        try (OpenClLayer layer = new OpenClLayer(call.weights(), call.options(), device, variant(), params)) {
            got = layer.forward(call.input());
        }
        if (!pathName.equals(got.path())) {
            throw new AssertionError(call + " on " + pathName + ": ran " + got.path());
        }
        call.check(got).assertPassed();
        return got;
    }
}
