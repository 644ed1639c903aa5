package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A kernel that fails to build throws with the driver's build log; nothing is left behind. */
class ProgramBuildFailureTest {

    @Test
    void buildFailureCarriesTheBuildLog() {
        Device device = TestDevices.openCl();
        int before = Cl.liveObjects();
        ClContext context = ClContext.acquire(device);
        try {
            assertThatThrownBy(() -> context.program(List.of("broken_for_test.cl"), ""))
                    .isInstanceOf(ClattnException.class)
                    .hasMessageContaining("clBuildProgram failed")
                    .hasMessageContaining("undefined_identifier_for_test")
                    .satisfies(e -> assertThat(((ClattnException) e).errorName()).isEqualTo("CL_BUILD_PROGRAM_FAILURE"));
        } finally {
            context.release();
        }
        assertThat(Cl.liveObjects()).isEqualTo(before);
    }

    @Test
    void programIsBuiltOncePerDeviceAndShared() {
        Device device = TestDevices.openCl();
        ClContext a = ClContext.acquire(device);
        ClContext b = ClContext.acquire(device);
        try {
            assertThat(b).isSameAs(a);
            assertThat(a.program(List.of("softmax.cl"), "")).isSameAs(b.program(List.of("softmax.cl"), ""));
        } finally {
            a.release();
            b.release();
        }
    }
}
