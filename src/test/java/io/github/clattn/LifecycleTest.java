package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.opencl.Cl;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import org.jocl.CL;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * OpenCL objects are counted by {@link Cl}: close releases every one, on every error path too,
 * and an injected failure of any single OpenCL call gives a typed exception and leaves the
 * layer usable.
 */
class LifecycleTest {

    @AfterEach
    void disarm() {
        Cl.injectFault(0, 0);
    }

    private static Problem problem(int n) {
        return Problem.builder(21 + n, 2, n, n, 10, 2, 5).with(Feature.OUTPUT_PROJECTION, Feature.PROJECTION_BIAS,
                Feature.KEY_PADDING, Feature.ATTN_BIAS).build();
    }

    @Test
    void closeReleasesEveryObjectAcrossShapesAndSharedContexts() {
        Device device = TestDevices.openCl();
        int before = Cl.liveObjects();
        Attention a = Attention.open(problem(5).weights(), AttentionOptions.DEFAULT, device);
        Attention b = Attention.open(problem(5).weights(), AttentionOptions.DEFAULT, device);
        for (int n : new int[] {5, 40, 3, 70}) {
            Problem p = problem(n);
            AttentionInput in = AttentionInput.builder(p.input().x(), 2, n).returnWeights(n % 2 == 1).build();
            a.forward(in);
            b.forward(in);
        }
        assertThat(Cl.liveObjects()).isGreaterThan(before);
        int warm = Cl.liveObjects();
        Problem again = problem(40);
        a.forward(AttentionInput.builder(again.input().x(), 2, 40).build());
        assertThat(Cl.liveObjects()).as("a call of a shape seen before allocates nothing").isEqualTo(warm);
        a.close();
        assertThat(Cl.liveObjects()).as("b still holds the shared context").isGreaterThan(before);
        b.close();
        assertThat(Cl.liveObjects()).as("live objects by kind: %s", Cl.liveObjectsByKind()).isEqualTo(before);
    }

    @Test
    void failureOfAnyCallDuringOpenReleasesEverything() {
        Device device = TestDevices.openCl();
        Problem p = problem(6);
        int before = Cl.liveObjects();
        int failures = 0;
        for (int n = 1; n <= 40; n++) {
            Cl.injectFault(n, CL.CL_OUT_OF_HOST_MEMORY);
            try (Attention a = Attention.open(p.weights(), AttentionOptions.DEFAULT, device)) {
                Cl.injectFault(0, 0);
                a.forward(p.input());
            } catch (ClattnException e) {
                failures++;
                assertThat(e.errorName()).isEqualTo("CL_OUT_OF_HOST_MEMORY");
                assertThat(e.call()).startsWith("cl");
                assertThat(e.getMessage()).contains("CL_OUT_OF_HOST_MEMORY");
            }
            assertThat(Cl.liveObjects()).as("after a fault at call %d: %s", n, Cl.liveObjectsByKind()).isEqualTo(before);
        }
        assertThat(failures).as("the first calls of open must have failed").isPositive();
    }

    @Test
    void failureOfAnyCallDuringForwardIsTypedAndLeavesTheLayerUsable() {
        Device device = TestDevices.openCl();
        Problem p = problem(9);
        var want = p.reference();
        int before = Cl.liveObjects();
        try (Attention a = Attention.open(p.weights(), p.options(), device)) {
            a.forward(p.input()); // warm: workspace allocated
            int failures = 0;
            for (int n = 1; n <= 60; n++) {
                Cl.injectFault(n, n % 2 == 0 ? CL.CL_OUT_OF_RESOURCES : CL.CL_MEM_OBJECT_ALLOCATION_FAILURE);
                try {
                    AttentionOutput out = a.forward(p.input());
                    want.compare("after fault " + n, out).assertPassed();
                } catch (ClattnException e) {
                    failures++;
                    assertThat(e.errorName()).isIn("CL_OUT_OF_RESOURCES", "CL_MEM_OBJECT_ALLOCATION_FAILURE");
                }
                Cl.injectFault(0, 0);
                want.compare("the call after fault " + n, a.forward(p.input())).assertPassed();
            }
            assertThat(failures).isPositive();
        }
        assertThat(Cl.liveObjects()).isEqualTo(before);
    }

    @Test
    void automaticDeviceRedoesAFailedCallOnTheJavaPath() {
        Device auto = Devices.auto();
        org.junit.jupiter.api.Assumptions.assumeTrue(!auto.isJava(), "needs an OpenCL device for the automatic choice");
        Problem p = problem(7);
        var want = p.reference();
        try (Attention a = Attention.open(p.weights(), p.options(), auto)) {
            Cl.injectFault(3, CL.CL_DEVICE_NOT_AVAILABLE);
            AttentionOutput out = a.forward(p.input());
            assertThat(out.path()).startsWith("java");
            want.compare("fallback", out).assertPassed();
        }
        try (Attention explicit = Attention.open(p.weights(), p.options(), TestDevices.openCl())) {
            Cl.injectFault(3, CL.CL_DEVICE_NOT_AVAILABLE);
            assertThatThrownBy(() -> explicit.forward(p.input())).isInstanceOf(ClattnException.class)
                    .hasMessageContaining("CL_DEVICE_NOT_AVAILABLE");
        }
    }

    @Test
    void deviceThatKeepsFailingIsRecreatedOnceThenAbandoned() {
        Device auto = Devices.auto();
        org.junit.jupiter.api.Assumptions.assumeTrue(!auto.isJava(), "needs an OpenCL device for the automatic choice");
        Problem p = problem(8);
        var want = p.reference();
        int before = Cl.liveObjects();
        try (Attention a = Attention.open(p.weights(), p.options(), auto)) {
            KvCache cache = a.openCache(1, 8);
            // Two failed calls in a row: the layer recreates its OpenCL objects and goes on with OpenCL.
            for (int i = 0; i < Attention.FAILURES_BEFORE_RECOVERY; i++) {
                Cl.injectFault(2, CL.CL_OUT_OF_RESOURCES);
                want.compare("redone on Java", a.forward(p.input())).assertPassed();
            }
            // the cache's storage went with the failing objects: it is closed, and says why
            assertThat(cache.isClosed()).isTrue();
            assertThatThrownBy(() -> cache.decode(new float[p.weights().dModel()]))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("recreated after");
            AttentionOutput afterRecreate = a.forward(p.input());
            assertThat(afterRecreate.path()).startsWith("opencl");
            assertThat(a.device().isJava()).isFalse();
            want.compare("recreated", afterRecreate).assertPassed();
            // Failing again: already recreated once, so the layer moves to the Java path for good.
            Cl.injectPersistentFault(CL.CL_DEVICE_NOT_AVAILABLE);
            for (int i = 0; i < Attention.FAILURES_BEFORE_RECOVERY; i++) {
                want.compare("persistent fault", a.forward(p.input())).assertPassed();
            }
            Cl.injectFault(0, 0);
            assertThat(a.device().isJava()).isTrue();
            AttentionOutput abandoned = a.forward(p.input());
            assertThat(abandoned.path()).startsWith("java");
            want.compare("abandoned", abandoned).assertPassed();
        }
        assertThat(Cl.liveObjects()).as("%s", Cl.liveObjectsByKind()).isEqualTo(before);
    }
}
