package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.opencl.Cl;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tensors;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Thousands of calls with random shapes on one layer: the live OpenCL objects, the device memory they hold and the heap do
 * not grow once the largest shape has been seen, and every 100th result is checked against the
 * reference.
 */
@Tag("slow")
class SoakTest {
    static final int CALLS = 2000;
    static final int MAX_N = 48;

    static List<String> devices() {
        return TestDevices.specs();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void noGrowthOverThousandsOfCalls(String spec) {
        Problem layer = Problem.builder(41, 2, MAX_N, MAX_N, 16, 2, 6).with(Feature.OUTPUT_PROJECTION,
                Feature.PROJECTION_BIAS).build();
        int before = Cl.liveObjects();
        long beforeBytes = Cl.liveBufferBytes();
        SplittableRandom r = new SplittableRandom(42);
        try (Attention a = Attention.open(layer.weights(), layer.options(), TestDevices.bySpec(spec))) {
            // The largest shape first, on both OpenCL paths with every statistic, and one query per
            // sequence (the decode kernels' buffer), fixes the workspace size.
            Runnable warmCalls = () -> {
                for (boolean weights : new boolean[] {true, false}) { // the staged and the fused path
                    a.forward(AttentionInput.builder(layer.input().x(), 2, MAX_N).keyValidLength(new int[] {MAX_N, 1})
                            .returnWeights(weights).returnLse(true).returnKeyMass(true).build());
                }
                a.forward(AttentionInput.builder(new float[2 * 16], 2, 1).returnLse(true).returnKeyMass(true).build());
            };
            warmCalls.run();
            int warmObjects = Cl.liveObjects();
            long warmDeviceBytes = Cl.liveBufferBytes();
            long warmHeap = usedHeapAfterGc();
            for (int call = 0; call < CALLS; call++) {
                int b = 1 + r.nextInt(2);
                int n = 1 + r.nextInt(MAX_N);
                float[] x = Tensors.uniform(r, b * n * 16, 1);
                AttentionInput.Builder in = AttentionInput.builder(x, b, n).returnWeights(r.nextInt(4) == 0)
                        .returnLse(r.nextInt(3) == 0).returnKeyMass(r.nextInt(3) == 0);
                if (r.nextBoolean()) {
                    int[] valid = new int[b];
                    for (int i = 0; i < b; i++) {
                        valid[i] = r.nextInt(n + 1);
                    }
                    in.keyValidLength(valid);
                }
                AttentionInput input = in.build();
                AttentionOutput out = a.forward(input);
                if (call % 100 == 0) {
                    layer.withInput(input).check(out).assertPassed();
                }
                if (call % 500 == 0) {
                    assertThat(Cl.liveObjects()).as("live OpenCL objects at call %d: %s", call, Cl.liveObjectsByKind())
                            .isEqualTo(warmObjects);
                }
            }
            assertThat(Cl.liveObjects()).isEqualTo(warmObjects);
            // uploads on a CPU device hold the last call's inputs (Workspace.upload): the warm-up's again
            warmCalls.run();
            assertThat(Cl.liveBufferBytes()).as("device memory held after %d calls", CALLS).isEqualTo(warmDeviceBytes);
            long growth = usedHeapAfterGc() - warmHeap;
            assertThat(growth).as("heap growth over %d calls", CALLS).isLessThan(32L << 20);
        }
        assertThat(Cl.liveObjects()).isEqualTo(before);
        assertThat(Cl.liveBufferBytes()).isEqualTo(beforeBytes);
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
