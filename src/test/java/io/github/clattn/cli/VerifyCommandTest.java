package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.TestDevices;
import io.github.clattn.TestJson;
import io.github.clattn.reference.SelfCheck;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code clattn verify}: a line per case and a verdict, every case passing on the Java path and
 * the OpenCL device; the JSON fields; bad options. (A kernel with a bug failing it is
 * {@code opencl.WrongKernelTest}.)
 */
class VerifyCommandTest {

    @Test
    void everyCasePassesOnTheJavaPathAndOpenClWithOneLinePerCase() {
        int problems = SelfCheck.battery().size();
        for (String spec : List.of("cpu", TestDevices.openCl().spec())) {
            Cli.Result r = Cli.run("verify", "--device", spec);
            assertThat(r.exit()).as(r.toString()).isZero();
            List<String> lines = r.out().lines().toList();
            assertThat(lines.get(0)).contains("case", "device", "path", "max|err|", "tolerance", "err/tol");
            List<String> cases = lines.stream().filter(l -> l.endsWith(" ok") || l.contains(" FAIL ")).toList();
            // every problem on every variant: vector and scalar on Java, cpu and gpu kernels on OpenCL
            assertThat(cases).hasSize(2 * problems).allSatisfy(l -> assertThat(l).endsWith(" ok"));
            assertThat(lines.get(lines.size() - 1)).startsWith("verify: PASS: " + 2 * problems + " cases");
            assertThat(r.out()).contains(">2^16 keys");
            if (spec.equals("cpu")) {
                assertThat(r.out()).contains("java-vector").contains("java-scalar");
            } else {
                assertThat(r.out()).contains("opencl-fused-cpu").contains("opencl-fused-gpu").contains("opencl-staged");
            }
        }
    }

    @Test
    void jsonHasTheCaseFields() {
        Cli.Result r = Cli.run("verify", "--device", "cpu", "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        List<Map<String, Object>> cases = TestJson.parseArrayOfObjects(r.out());
        assertThat(cases).hasSize(2 * SelfCheck.battery().size());
        for (Map<String, Object> c : cases) {
            assertThat(c).containsOnlyKeys("case", "device", "path", "max_abs_err", "tolerance", "passed");
            assertThat(c).containsEntry("device", "java").containsEntry("passed", true);
            assertThat((Double) c.get("max_abs_err")).isLessThanOrEqualTo((Double) c.get("tolerance"));
        }
    }

    @Test
    void anUnknownDeviceIsAUsageError() {
        Cli.Result r = Cli.run("verify", "--device", "no-such-device");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--device no-such-device");
    }
}
