package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.ForkedJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code clattn --version}: clattn, JOCL, Java and the Vector API, without loading any native library. */
class VersionCommandTest {

    @Test
    void namesClattnJoclJavaAndTheVectorApi() {
        Cli.Result r = Cli.run("--version");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.err()).isEmpty();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(4);
        // the build's version (filtered into the CLI's resources), not the fallback
        assertThat(lines.get(0)).matches("clattn \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
        // found at run time beside JOCL's classes (its native library's name), not the built-against fallback
        assertThat(lines.get(1)).matches("JOCL \\d+\\.\\d+\\.\\d+");
        assertThat(lines.get(2)).isEqualTo("Java " + System.getProperty("java.version") + " ("
                + System.getProperty("java.vm.name") + ", " + System.getProperty("java.vendor") + ")");
        // the test JVM runs with --add-modules jdk.incubator.vector (pom.xml, clattn.jvm.flags)
        assertThat(lines.get(3)).isEqualTo("Vector API: available (jdk.incubator.vector)");
        assertThat(Cli.run("-V").out()).isEqualTo(r.out());
    }

    @Test
    void joclVersionIsTheOneOnTheClassPath() {
        String jar = org.jocl.CL.class.getProtectionDomain().getCodeSource().getLocation().getPath();
        if (jar.matches(".*/jocl-\\d+\\.\\d+\\.\\d+\\.jar")) {
            String fromFileName = jar.replaceAll(".*/jocl-(\\d+\\.\\d+\\.\\d+)\\.jar", "$1");
            assertThat(VersionInfo.joclVersion()).isEqualTo(fromFileName);
        }
    }

    @Test
    void withoutTheVectorModuleOrOpenClItSaysSoAndLoadsNothing(@TempDir Path dir) throws Exception {
        // No --add-modules, and a libOpenCL.so that cannot load: --version must not touch either.
        Files.createFile(dir.resolve("libOpenCL.so"));
        ForkedJvm.Result r = ForkedJvm.run(Main.class, Map.of("LD_LIBRARY_PATH", dir.toString()), List.of(), "--version");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout()).contains("\nJOCL ").contains("Vector API: not available (start Java with --add-modules "
                + "jdk.incubator.vector; the Java path then uses its scalar kernels)");
        assertThat(r.stdout() + r.stderr()).doesNotContain("libOpenCL").doesNotContain("Exception");
    }
}
