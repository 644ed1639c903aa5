package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Graceful degradation, in a forked JVM whose ICD loader finds no driver ({@code OCL_ICD_VENDORS}
 * pointing to an empty folder): the automatic choice computes on the Java path after exactly one
 * WARN naming the reason and the install command; an explicit OpenCL choice throws.
 */
class FallbackTest {

    @Test
    void noDriverMeansJavaPathWithOneWarningAndExplicitOpenClThrows(@TempDir Path emptyVendors) throws Exception {
        assertThat(Files.list(emptyVendors)).isEmpty();
        ForkedJvm.Result r = ForkedJvm.run(FallbackProbe.class, Map.of("OCL_ICD_VENDORS", emptyVendors.toString()),
                List.of("--add-modules", "jdk.incubator.vector"));
        String all = r.stdout() + r.stderr();
        assertThat(r.exitCode()).as(all).isZero();
        assertThat(r.stdout()).contains("AUTO=java").contains("AUTO_RESULT=ok path=java");
        assertThat(r.stdout()).contains("EXPLICIT_THROWS=").doesNotContain("EXPLICIT=opened");
        assertThat(r.stdout()).contains("apt-get install pocl-opencl-icd ocl-icd-opencl-dev");
        long warnings = r.stderr().lines().filter(l -> l.contains(" WARN ")).count();
        assertThat(warnings).as("WARN lines in:%n%s", r.stderr()).isEqualTo(1);
        String warning = r.stderr().lines().filter(l -> l.contains(" WARN ")).findFirst().orElseThrow();
        assertThat(warning).contains("no OpenCL platform").contains("apt-get install pocl-opencl-icd ocl-icd-opencl-dev");
    }
}
