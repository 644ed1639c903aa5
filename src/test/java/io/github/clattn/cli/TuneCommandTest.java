package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code clattn tune}: writes the device's tuning file; refuses the Java path and bad variants. */
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
    void javaPathAndBadVariantAreUsageErrors() {
        Cli.Result java = Cli.run("tune", "--device", "cpu");
        assertThat(java.exit()).isEqualTo(2);
        assertThat(java.err()).contains("--device cpu").contains("Java path").doesNotContain("Exception");
        TestDevices.openCl();
        Cli.Result variant = Cli.run("tune", "--variant", "tpu");
        assertThat(variant.exit()).isEqualTo(2);
        assertThat(variant.err()).contains("--variant tpu").contains("expected cpu or gpu");
    }
}
