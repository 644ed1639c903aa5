package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.clattn.TestDevices;
import io.github.clattn.core.CacheDir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kernel (fused CPU-style and GPU-style GEMM and flash, in default and small tile sizes;
 * the staged kernels) on tiny shapes under the Oclgrind simulator, in a forked JVM that sees
 * only Oclgrind's ICD (this JVM has already loaded PoCL). Oclgrind exits 0 whatever it finds, so
 * the test reads its log: it must be empty, and the child's output must carry no Oclgrind
 * message; the child itself compares every result with the float64 reference.
 *
 * <p>Two passes: optimised builds with API and data-race checking, then builds with
 * {@code -cl-opt-disable} that add uninitialised-value checking (Oclgrind 21.10's
 * uninitialised-value plugin aborts on the LLVM {@code freeze} instruction that optimised
 * builds contain; aborted kernels would also fail the result comparison). Out-of-bounds accesses
 * are checked in both. A third run proves the check bites: a kernel with an out-of-bounds read,
 * an uninitialised read and a data race must fill the log with all three.
 */
@Tag("slow")
class OclgrindTest {
    private static final List<Path> ICD_LIBRARIES = List.of(Path.of("/usr/lib/oclgrind/liboclgrind-rt-icd.so"),
            Path.of("/usr/lib/x86_64-linux-gnu/liboclgrind-rt-icd.so"));
    private static final long TIMEOUT_SECONDS = 300;
    /** What Oclgrind prints for each kind of finding (and for its own fatal errors). */
    private static final Pattern FINDING = Pattern.compile("invalid (read|write)|data race|uninitiali[sz]ed"
            + "|divergen|out of (range|bounds)|out-of-(range|bounds)|fatal error|runtime error|oclgrind -",
            Pattern.CASE_INSENSITIVE);

    @TempDir
    Path dir;

    record ChildRun(int exit, String output, String log) {
        /**
         * Oclgrind's findings: every headline of its log (any at all is a finding), and any line
         * of the child's output (which gets Oclgrind's fatal errors) that names a finding.
         */
        List<String> findings() {
            List<String> found = new ArrayList<>();
            log.lines().filter(l -> !l.isBlank() && !Character.isWhitespace(l.charAt(0))).forEach(found::add);
            output.lines().filter(l -> FINDING.matcher(l).find()).forEach(found::add);
            return found;
        }
    }

    static Path icdLibrary() {
        for (Path p : ICD_LIBRARIES) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        String why = "Oclgrind is not installed (none of " + ICD_LIBRARIES + "); apt-get install oclgrind";
        if (TestDevices.ci()) {
            fail("CI=true but " + why);
        }
        Assumptions.abort(why);
        return null;
    }

    @Test
    void optimisedKernelsAreCleanWithApiAndRaceChecks() throws Exception {
        ChildRun run = runChild("run", Map.of("OCLGRIND_CHECK_API", "1", "OCLGRIND_DATA_RACES", "1"));
        assertClean(run);
    }

    @Test
    void unoptimisedKernelsAreCleanWithUninitialisedValueChecks() throws Exception {
        ChildRun run = runChild("run", Map.of("OCLGRIND_BUILD_OPTIONS", "-cl-opt-disable", "OCLGRIND_CHECK_API", "1",
                "OCLGRIND_DATA_RACES", "1", "OCLGRIND_UNINITIALIZED", "1"));
        assertClean(run);
    }

    @Test
    void aBrokenKernelIsReported() throws Exception {
        ChildRun run = runChild("selfcheck", Map.of("OCLGRIND_BUILD_OPTIONS", "-cl-opt-disable", "OCLGRIND_CHECK_API",
                "1", "OCLGRIND_DATA_RACES", "1", "OCLGRIND_UNINITIALIZED", "1"));
        assertThat(run.exit()).as(run.output()).isZero();
        String findings = String.join("\n", run.findings());
        assertThat(findings).as("Oclgrind's findings for the broken kernel")
                .contains("Invalid read")
                .contains("data race")
                .contains("Uninitialized value");
    }

    private static void assertClean(ChildRun run) {
        assertThat(run.findings()).as("Oclgrind findings; log:\n%s\noutput:\n%s", run.log(), run.output()).isEmpty();
        assertThat(run.exit()).as("child exit status (1: a result off the reference); output:\n%s", run.output())
                .isZero();
        assertThat(run.output()).contains("ALL MATCH");
        assertThat(run.output().lines().filter(l -> l.startsWith("match opencl-")).count())
                .as("runs that matched the reference").isEqualTo(OclgrindChild.expectedRuns());
        assertThat(run.output()).contains("match opencl-fused-cpu").contains("match opencl-fused-gpu")
                .contains("match opencl-staged");
    }

    private ChildRun runChild(String mode, Map<String, String> oclgrindEnv) throws IOException, InterruptedException {
        Path icd = icdLibrary();
        Path vendors = Files.createDirectories(dir.resolve("vendors"));
        Files.writeString(vendors.resolve("oclgrind.icd"), icd + "\n");
        Path log = dir.resolve("oclgrind-" + mode + ".log");
        Path output = dir.resolve("child-" + mode + ".out");
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-D" + CacheDir.PROPERTY + "=" + dir.resolve("cache"),
                "-cp", classPath,
                OclgrindChild.class.getName(), mode));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("OCLGRIND_") || k.startsWith("POCL_"));
        env.put("OCL_ICD_VENDORS", vendors.toString());
        env.remove("OCL_ICD_FILENAMES");
        env.put("OCLGRIND_LOG", log.toString());
        env.putAll(oclgrindEnv);
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            fail("Oclgrind child did not finish in " + TIMEOUT_SECONDS + " s; output:\n" + read(output));
        }
        return new ChildRun(p.exitValue(), read(output), read(log));
    }

    private static String read(Path p) throws IOException {
        return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
    }
}
