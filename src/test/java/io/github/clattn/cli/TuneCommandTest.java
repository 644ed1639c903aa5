package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code clattn tune}: writes the tuning file of an OpenCL device or of the Java path; refuses bad variants. */
class TuneCommandTest {

    @Test
    void tunesTheOpenClDeviceAndStoresTheBest() throws Exception {
        Device openCl = TestDevices.openCl();
        Cli.Result r = Cli.run("tune", "--device", openCl.spec());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Tuning", "gemm", "flash", "GFLOP/s", "Best: ");
        String best = r.out().lines().filter(l -> l.startsWith("Best: ")).findFirst().orElseThrow();
        // the test cache folder (TestCacheDir), never the user's
        Path file = Path.of(best.substring(best.indexOf("-> ") + 3).trim());
        assertThat(file).startsWith(Path.of(System.getProperty("clattn.cache.dir"))).isRegularFile();
        assertThat(Files.readString(file)).contains("device=").contains("variant=").contains("GEMM_");
    }

    @Test
    void tunesTheJavaPathAndStoresTheBestForThisCpu() throws Exception {
        Cli.Result r = Cli.run("tune", "--device", "cpu");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Tuning the Java path", "GEMM_ROWS=", "KEY_BLOCK=", "GFLOP/s", "Best: ");
        String best = r.out().lines().filter(l -> l.startsWith("Best: ")).findFirst().orElseThrow();
        Path file = Path.of(best.substring(best.indexOf("-> ") + 3).trim());
        try {
            assertThat(file).startsWith(Path.of(System.getProperty("clattn.cache.dir"))).isRegularFile();
            assertThat(file.getFileName().toString()).startsWith("java_");
            assertThat(Files.readString(file)).contains("cpu=", "lanes=", "threads=", "QUERY_BLOCK=");
        } finally {
            Files.deleteIfExists(file); // later tests run with the defaults
        }
    }

    @Test
    void badVariantsAreUsageErrors() {
        Cli.Result scalar = Cli.run("tune", "--device", "cpu", "--variant", "scalar");
        assertThat(scalar.exit()).isEqualTo(2);
        assertThat(scalar.err()).contains("--variant scalar", "expected vector").doesNotContain("Exception");
        TestDevices.openCl();
        Cli.Result variant = Cli.run("tune", "--variant", "tpu");
        assertThat(variant.exit()).isEqualTo(2);
        assertThat(variant.err()).contains("--variant tpu").contains("expected cpu or gpu");
    }
}
