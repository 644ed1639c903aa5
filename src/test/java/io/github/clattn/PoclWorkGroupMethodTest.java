package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The conformance cases also pass under PoCL's other work-group method, {@code cbs}. */
class PoclWorkGroupMethodTest {

    @Test
    void conformanceUnderCbs() throws Exception {
        Device device = TestDevices.openCl();
        org.junit.jupiter.api.Assumptions.assumeTrue(device.platformName().contains("Portable Computing Language"),
                "PoCL-only setting; the OpenCL device here is " + device);
        ConformanceCase.dir();
        ForkedJvm.Result r = ForkedJvm.run(ConformanceProbe.class, Map.of("POCL_WORK_GROUP_METHOD", "cbs"),
                List.of("--add-modules", "jdk.incubator.vector",
                        "-Dclattn.conformance.dir=" + ConformanceCase.dir()));
        assertThat(r.exitCode()).as("%s%n%s", r.stdout(), r.stderr()).isZero();
        assertThat(r.stdout()).contains("FAILED=0");
        assertThat(r.stdout().lines().filter(l -> l.startsWith("PASS "))).hasSize(ConformanceCase.names().size());
    }
}
