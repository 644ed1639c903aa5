package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOutput;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import org.jocl.CL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every OpenCL call of opening a layer and of its first and later calls, made to fail in turn
 * through {@link Cl#injectFault}: the failure surfaces as a {@link ClattnException} carrying the
 * OpenCL error name, the layer then computes the same bits as an undisturbed one, and no object
 * is left behind.
 */
class FusedFaultTest {
    private static ClContext keepAlive;

    @BeforeAll
    static void keepProgramsBuilt() {
        keepAlive = ClContext.acquire(TestDevices.openCl());
    }

    @AfterAll
    static void release() {
        keepAlive.release();
    }

    @AfterEach
    void clearFault() {
        Cl.injectFault(0, 0);
    }

    @ParameterizedTest
    @EnumSource(PathUnderTest.class)
    void everyFailingCallIsReportedAndLeavesNothingBehind(PathUnderTest path) {
        Device device = TestDevices.openCl();
        RandomCase c = RandomCase.of(77, 2, 9, 20, 6, 2, 5, RandomCase.CROSS | RandomCase.CAUSAL | RandomCase.VALID
                | RandomCase.BIAS | RandomCase.W_O | RandomCase.PROJ_BIAS);
        AttentionInput in = RandomCase.withReturnWeights(c.input(), path == PathUnderTest.STAGED);
        AttentionOutput clean;
        try (OpenClAttention layer = new OpenClAttention(c.weights(), c.options(), device, path.variant(), null)) {
            clean = layer.forward(in);
        }
        int baseline = FusedPathTest.liveExceptPrograms();
        int faults = 0;
        for (int n = 1; n < 500; n++) {
            boolean fired = false;
            OpenClAttention layer = null;
            try {
                Cl.injectFault(n, CL.CL_OUT_OF_RESOURCES);
                layer = new OpenClAttention(c.weights(), c.options(), device, path.variant(), null);
                layer.forward(in);
                layer.forward(in);
            } catch (ClattnException e) {
                fired = true;
                assertThat(e.errorName()).as("call " + n + ": " + e.getMessage()).isEqualTo("CL_OUT_OF_RESOURCES");
                assertThat(e.getMessage()).contains("injected fault");
            } finally {
                Cl.injectFault(0, 0);
            }
            if (layer != null) {
                AttentionOutput after = layer.forward(in);
                assertThat(after.headsOut()).as("heads_out after a fault at call " + n).isEqualTo(clean.headsOut());
                assertThat(after.out()).as("out after a fault at call " + n).isEqualTo(clean.out());
                layer.close();
            }
            assertThat(FusedPathTest.liveExceptPrograms()).as("live objects after a fault at call " + n)
                    .isEqualTo(baseline);
            if (!fired) {
                assertThat(faults).as("calls that failed before the fault ran out").isGreaterThan(10);
                return;
            }
            faults++;
        }
        fail("more than 500 OpenCL calls to open a layer and make two calls");
    }
}
