package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import io.github.clattn.core.CacheDir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libjsig WARN, in fresh JVMs with an empty clattn cache (so programs are built from source):
 * exactly one WARN naming the exact {@code LD_PRELOAD=...} line for this JDK when the child is
 * started without {@code LD_PRELOAD} (surefire sets it for the test JVM; it is removed from the
 * child's environment here), none when libjsig is preloaded. And the automatic device choice of
 * those children ({@code AUTO=}): PoCL's devices passed over without libjsig, with an INFO line;
 * an OpenCL device with it.
 */
class SignalChainingTest {
    private static final Path LIBJSIG = Path.of(System.getProperty("java.home"), "lib", "libjsig.so");

    @Test
    void withoutLibjsigOneWarnNamesTheLine(@TempDir Path cache) throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/maps")), "no /proc/self/maps");
        Device device = TestDevices.openCl();
        Child r = run(cache, null, device);
        assertThat(r.exit).as(r.toString()).isZero();
        assertThat(r.out).as(r.toString()).contains("LIBJSIG_LOADED=false");
        assertThat(sourceBuilds(r)).as(r.toString()).isGreaterThanOrEqualTo(2);
        List<String> warnings = r.err.lines().filter(l -> l.contains(" WARN ")).toList();
        assertThat(warnings).as(r.toString()).singleElement().asString()
                .contains("libjsig is not loaded", "LD_PRELOAD=" + LIBJSIG, "SIGSEGV");
    }

    @Test
    void withoutLibjsigOnPoclOneWarnEvenWhenNothingIsCompiled(@TempDir Path cache) throws Exception {
        // PoCL installs its handlers when it starts its devices: a process that only loads cached
        // binaries is exposed too, so the WARN comes at enumeration, naming PoCL.
        assumeTrue(Files.isReadable(Path.of("/proc/self/maps")), "no /proc/self/maps");
        assumeTrue(Files.isRegularFile(LIBJSIG), "this JDK has no lib/libjsig.so");
        Device device = TestDevices.openCl();
        assumeTrue(device.info().platform().contains("Portable Computing Language"), "the OpenCL device is not PoCL's");
        Child fill = run(cache, LIBJSIG.toString(), device);
        assertThat(fill.exit).as(fill.toString()).isZero();
        Child r = run(cache, null, device);
        assertThat(r.exit).as(r.toString()).isZero();
        assertThat(sourceBuilds(r)).as(r.toString()).isZero();
        List<String> warnings = r.err.lines().filter(l -> l.contains(" WARN ")).toList();
        assertThat(warnings).as(r.toString()).singleElement().asString()
                .contains("PoCL", "libjsig is not loaded", "LD_PRELOAD=" + LIBJSIG, "SIGSEGV");
        // the explicit spec took PoCL; the automatic choice passes over it (no other WARN)
        boolean onlyPocl = io.github.clattn.Devices.openCl().stream()
                .allMatch(d -> SignalChaining.isPocl(d.info().platform()));
        assertThat(r.out).as(r.toString()).contains("AUTO=" + (onlyPocl ? "java" : "opencl:"))
                .doesNotContain("AUTO=" + device.spec() + "\n");
        assertThat(r.err).as(r.toString()).contains("passes over " + device.spec());
        assertThat(fill.out).as(fill.toString()).contains("AUTO=opencl:");
        assertThat(fill.err).as(fill.toString()).doesNotContain("passes over");
    }

    @Test
    void theAutomaticChoicePassesOverPoclOnlyWhenLibjsigIsKnownMissing() {
        String pocl = "Portable Computing Language";
        assertThat(SignalChaining.passOverReason(pocl, false)).get().asString()
                .contains("libjsig is not loaded", "LD_PRELOAD=" + LIBJSIG);
        assertThat(SignalChaining.passOverReason(pocl, true)).isEmpty();
        assertThat(SignalChaining.passOverReason(pocl, null)).as("cannot tell: nothing is passed over").isEmpty();
        assertThat(SignalChaining.passOverReason("NVIDIA CUDA", false)).isEmpty();
        assertThat(SignalChaining.passOverReason(null, false)).isEmpty();
        // this process: as its maps say (surefire preloads libjsig, so normally nothing is passed over)
        Boolean loaded = SignalChaining.libjsigLoaded(Path.of("/proc/self/maps"));
        assertThat(SignalChaining.passOverReason(pocl)).isEqualTo(SignalChaining.passOverReason(pocl, loaded));
        Device any = TestDevices.openCl();
        assertThat(new OpenClProvider().passOver(any)).as("the provider asks about the device's platform")
                .isEqualTo(SignalChaining.passOverReason(any.info().platform()));
    }

    @Test
    void withLibjsigPreloadedNoWarn(@TempDir Path cache) throws Exception {
        assumeTrue(Files.isRegularFile(LIBJSIG), "this JDK has no lib/libjsig.so");
        Device device = TestDevices.openCl();
        Child r = run(cache, LIBJSIG.toString(), device);
        assertThat(r.exit).as(r.toString()).isZero();
        assertThat(r.out).as(r.toString()).contains("LIBJSIG_LOADED=true");
        assertThat(sourceBuilds(r)).as(r.toString()).isGreaterThanOrEqualTo(2);
        assertThat(r.err).as(r.toString()).doesNotContain(" WARN ").doesNotContain("libjsig")
                .doesNotContain("passes over");
        assertThat(r.out).as(r.toString()).contains("AUTO=opencl:");
    }

    private record Child(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
        }
    }

    private static int sourceBuilds(Child r) {
        return r.out.lines().filter(l -> l.startsWith("SOURCE_BUILDS=")).mapToInt(l -> Integer.parseInt(l.substring(14)))
                .findFirst().orElse(-1);
    }

    /** A child JVM with LD_PRELOAD set to {@code preload}, or absent from its environment when null. */
    private static Child run(Path cache, String preload, Device device) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-D" + CacheDir.PROPERTY + "=" + cache,
                "-cp", System.getProperty("java.class.path"), SignalChainingProbe.class.getName(),
                "opencl:" + device.index()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("LD_PRELOAD");
        pb.environment().remove(io.github.clattn.Devices.DEVICE_ENV); // the probe's automatic choice must be the rule
        if (preload != null) {
            pb.environment().put("LD_PRELOAD", preload);
        }
        Path out = Files.createTempFile("clattn-child", ".out");
        Path err = Files.createTempFile("clattn-child", ".err");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("child JVM ran over 5 minutes");
            }
            return new Child(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
