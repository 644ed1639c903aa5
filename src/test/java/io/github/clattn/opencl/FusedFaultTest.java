package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOutput;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
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
        Problem c = Problem.builder(77, 2, 9, 20, 6, 2, 5).with(Feature.CROSS, Feature.CAUSAL, Feature.KEY_PADDING,
                Feature.ATTN_BIAS, Feature.OUTPUT_PROJECTION, Feature.PROJECTION_BIAS).build();
        AttentionInput in = path.call(c).input();
        AttentionOutput clean;
        try (OpenClLayer layer = new OpenClLayer(c.weights(), c.options(), device, path.variant(), null)) {
            clean = layer.forward(in);
        }
        int baseline = FusedPathTest.liveExceptPrograms();
        int faults = 0;
        for (int n = 1; n < 500; n++) {
            boolean fired = false;
            OpenClLayer layer = null;
            try {
                Cl.injectFault(n, CL.CL_OUT_OF_RESOURCES);
                layer = new OpenClLayer(c.weights(), c.options(), device, path.variant(), null);
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
