package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import io.github.clattn.opencl.Tuner;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** {@code clattn tune}: writes the device's tuning file; refuses the Java path and bad variants. */
class TuneCommandTest {

    @Test
    void tunesTheOpenClDeviceAndStoresTheBest() throws Exception {
        Device openCl = TestDevices.openCl();
        Files.deleteIfExists(Tuner.file(openCl)); // the test cache folder, never the user's
        Cli.Result r = Cli.run("tune", "--device", openCl.spec());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Tuning", "gemm", "flash", "GFLOP/s", "Best: ");
        assertThat(Files.isRegularFile(Tuner.file(openCl))).isTrue();
        assertThat(r.out()).contains(Tuner.file(openCl).toString());
        assertThat(Tuner.stored(openCl)).isPresent();
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
