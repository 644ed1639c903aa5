package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import io.github.clattn.TestJson;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code clattn devices}: the OpenCL device under test and the Java path, as text and as JSON. */
class DevicesCommandTest {

    @Test
    void textListsTheOpenClDeviceAndTheJavaPathWithTheirSpecs() {
        Device openCl = TestDevices.openCl();
        Cli.Result r = Cli.run("devices");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("OpenCL platform: " + openCl.info().platform(), openCl.spec(), openCl.name(),
                "compute units", "Java path", "java", "--device cpu");
        assertThat(r.err()).as("no driver note when OpenCL works").isEmpty();
    }

    @Test
    void jsonIsOneArrayWithAnObjectPerDeviceAndTheJavaPathLast() {
        Device openCl = TestDevices.openCl();
        Cli.Result r = Cli.run("devices", "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        List<Map<String, Object>> devices = TestJson.parseArrayOfObjects(r.out());
        assertThat(devices).hasSizeGreaterThanOrEqualTo(2);
        for (Map<String, Object> d : devices) {
            assertThat(d).containsKeys("spec", "kind", "name", "platform", "vendor", "type", "version", "driver_version",
                    "compute_units", "global_mem_bytes", "local_mem_bytes", "max_alloc_bytes", "max_work_group_size",
                    "best_opencl");
            assertThat((Double) d.get("compute_units")).isPositive();
        }
        Map<String, Object> java = devices.get(devices.size() - 1);
        assertThat(java).containsEntry("spec", "java").containsEntry("kind", "java").containsEntry("best_opencl", false);
        Map<String, Object> tested = devices.stream().filter(d -> d.get("spec").equals(openCl.spec())).findFirst()
                .orElseThrow();
        assertThat(tested).containsEntry("kind", "opencl").containsEntry("name", openCl.name())
                .containsEntry("platform", openCl.info().platform());
        assertThat(devices.stream().filter(d -> Boolean.TRUE.equals(d.get("best_opencl")))).hasSize(1);
        // Every spec listed selects that device again.
        for (Map<String, Object> d : devices) {
            assertThat(io.github.clattn.Devices.select((String) d.get("spec")).name()).isEqualTo(d.get("name"));
        }
    }
}
