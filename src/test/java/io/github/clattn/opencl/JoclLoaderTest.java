package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.ForkedJvm;
import io.github.clattn.cli.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without a loadable {@code libOpenCL.so}, JOCL's native code prints "Could not load libOpenCL.so,
 * error ..." on stdout; clattn keeps only its own message. Each case runs in a fresh JVM (JOCL
 * opens the library once per process). The library is made unloadable for the child by putting an
 * empty {@code libOpenCL.so} first on {@code LD_LIBRARY_PATH}: the dynamic loader stops at it
 * ("file too short") instead of going on to the system's copy, as on a machine with a broken or
 * missing install.
 */
class JoclLoaderTest {
    private static final List<String> FLAGS = List.of("--add-modules", "jdk.incubator.vector");
    private static final String JOCL_LINE = "Could not load libOpenCL.so";

    private static Map<String, String> unloadable(Path dir) throws Exception {
        Files.createFile(dir.resolve("libOpenCL.so"));
        return Map.of("LD_LIBRARY_PATH", dir.toString());
    }

    @Test
    void joclAlonePrintsItsLineOnStdout(@TempDir Path dir) throws Exception {
        // The condition the other tests rely on: in this set-up JOCL does print its line.
        ForkedJvm.Result r = ForkedJvm.run(JoclLoadProbe.class, unloadable(dir), FLAGS, "raw");
        assertThat(r.stdout()).as(r.toString()).contains(JOCL_LINE).contains("THROWN=java.lang.UnsatisfiedLinkError");
    }

    @Test
    void cliWithoutOpenClPrintsOnlyClattnsMessage(@TempDir Path dir) throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(Main.class, unloadable(dir), FLAGS, "devices", "--json");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        String out = r.stdout().strip();
        assertThat(out).as("stdout is the JSON array and nothing else").startsWith("[").endsWith("]")
                .contains("\"spec\": \"java\"").doesNotContain(JOCL_LINE);
        assertThat(r.stderr()).doesNotContain(JOCL_LINE);
        List<String> clattnLines = r.stderr().lines().filter(l -> l.startsWith("clattn")).toList();
        assertThat(clattnLines).as(r.stderr()).singleElement().asString()
                .contains("clattn devices: no OpenCL device (the OpenCL library could not be loaded")
                .contains("apt-get install pocl-opencl-icd ocl-icd-opencl-dev");
    }

    @Test
    void verboseLogsTheLoadersReasonInstead(@TempDir Path dir) throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(Main.class, unloadable(dir), FLAGS, "devices", "--json", "--verbose");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout().strip()).startsWith("[").endsWith("]").doesNotContain(JOCL_LINE);
        assertThat(r.stderr()).doesNotContain(JOCL_LINE).contains("OpenCL load failure; System.loadLibrary(\"OpenCL\") says: ")
                .contains(dir.resolve("libOpenCL.so") + ": file too short");
    }

    @Test
    void theLoaderRethrowsTheFailureQuietly(@TempDir Path dir) throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(JoclLoadProbe.class, unloadable(dir), FLAGS, "loader");
        assertThat(r.stdout() + r.stderr()).as(r.toString()).doesNotContain(JOCL_LINE);
        assertThat(r.stdout()).contains("THROWN=java.lang.UnsatisfiedLinkError")
                .contains("LOGGER_LEVEL=null LOGGER_FILTER=null");
    }

    @Test
    void withOpenClTheLoaderRestoresJoclAndTheLoggerAndOpenClWorks() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(JoclLoadProbe.class, Map.of(), FLAGS, "loader");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        // QUIETED: JOCL's native level was lowered for the load and set back to LOG_ERROR after it.
        assertThat(r.stdout()).contains("OUTCOME=QUIETED", "AGAIN=UNTOUCHED", "PLATFORM_STATUS=0 ",
                "LOGGER_LEVEL=null LOGGER_FILTER=null");
        assertThat(r.stderr()).as("nothing JOCL logs at FINE reaches the console").doesNotContain("Trying library candidate");
    }

    @Test
    void anApplicationThatAsksForJoclsFineRecordsStillGetsThem() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(JoclLoadProbe.class, Map.of(), FLAGS, "loader-fine");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout()).contains("APP_HANDLER=FINE Trying library candidate: libOpenCL.so", "OUTCOME=QUIETED",
                "LOGGER_LEVEL=FINE LOGGER_FILTER=null");
    }
}
