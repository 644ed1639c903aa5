package io.github.clattn.opencl;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Device;
import io.github.clattn.Reference;
import io.github.clattn.Tolerance;

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

    /** Runs one call on this path, checks the path name, and compares with the float64 reference. */
    AttentionOutput runAndCheck(Device device, AttentionWeights w, AttentionOptions o, AttentionInput in, String label) {
        return runAndCheck(device, w, o, in, label, null);
    }

    /** As above with the fused kernels' parameters given (null: the device's tuning or defaults). */
    AttentionOutput runAndCheck(Device device, AttentionWeights w, AttentionOptions o, AttentionInput in, String label,
                                KernelParams params) {
        AttentionInput call = RandomCase.withReturnWeights(in, this == STAGED);
        AttentionOutput got;
        try (OpenClAttention layer = new OpenClAttention(w, o, device, variant(), params)) {
            got = layer.forward(call);
        }
        String where = label + " on " + pathName;
        if (!pathName.equals(got.path())) {
            throw new AssertionError(where + ": ran " + got.path());
        }
        Reference.Result want = Reference.compute(w, o, call);
        Tolerance.assertOutputClose(where + " heads_out", got.headsOut(), want.headsOut());
        if (w.hasOutputProjection()) {
            Tolerance.assertOutputClose(where + " out", got.out(), want.out());
        }
        if (this == STAGED) {
            Tolerance.assertWeightsClose(where + " weights", got.weights(), want.weights());
        }
        return got;
    }
}
