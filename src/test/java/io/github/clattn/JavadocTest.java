package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API's Javadoc is doclint-clean: the JDK's javadoc with {@code -Xdoclint:all}, run on the
 * module as maven-javadoc-plugin runs it (the exported package only), reports no error and no
 * warning.
 *
 * <p>One warning is always there and is not counted: "using incubating module(s):
 * jdk.incubator.vector", printed because the module requires the Vector API (static). JDK 17's
 * javadoc has no switch to silence it, so the plugin cannot fail on warnings; this test is what
 * fails the build on a doclint warning, and the plugin only builds the {@code -javadoc.jar}.
 */
class JavadocTest {
    private static final String INCUBATOR_WARNING = "warning: using incubating module(s): jdk.incubator.vector";

    @Test
    void theExportedPackageIsDoclintClean(@TempDir Path out) {
        ToolProvider javadoc = ToolProvider.findFirst("javadoc")
                .orElseThrow(() -> new AssertionError("this JVM has no javadoc tool (a JRE, not a JDK?)"));
        // The dependencies (JOCL, SLF4J and the command line's optional ones) resolve the module's
        // requires directives; jars the module does not read are not resolved.
        String modulePath = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(p -> p.endsWith(".jar")).collect(Collectors.joining(File.pathSeparator));
        Path sources = Path.of(System.getProperty("basedir", ".")).resolve("src/main/java");

        StringWriter output = new StringWriter();
        PrintWriter writer = new PrintWriter(output);
        int status = javadoc.run(writer, writer, "-d", out.toString(), "-quiet", "-Xdoclint:all",
                "-Xmaxwarns", "10000", "-Xmaxerrs", "10000", "-encoding", "UTF-8", "--module-path", modulePath,
                "--source-path", sources.toString(), "--module", "io.github.clattn");
        writer.flush();

        List<String> findings = output.toString().lines()
                .filter(l -> !l.isBlank() && !l.equals(INCUBATOR_WARNING) && !l.matches("\\d+ (warning|error)s?"))
                .toList();
        assertThat(findings).as("javadoc -Xdoclint:all output besides the incubator warning:%n%s", output)
                .isEmpty();
        assertThat(status).as("javadoc exit status; output:%n%s", output).isZero();
    }
}
