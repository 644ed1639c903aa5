package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.Device;
import io.github.clattn.Devices;
import io.github.clattn.TestDevices;
import io.github.clattn.Verification;
import io.github.clattn.cli.Main;
import io.github.clattn.core.CacheDir;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A kernel variant with a deliberate bug, fed in through the test-only source seam
 * ({@link ClContext#overrideSource}): the self-check ({@code Devices.verify}, {@code clattn verify})
 * must fail on exactly that variant, and the tuner must drop a candidate that computes wrongly.
 */
class WrongKernelTest {
    /** flash_cpu.cl with the softmax scale off by 1% (a plausible miscompile: a wrong constant). */
    private static String brokenFlashCpu(String condition) {
        String source = ClContext.source("flash_cpu.cl");
        String scaling = "acc[tr_][tv_] * scale;"; // in the SCORE_TILE macro that every chunk uses
        assertThat(source).contains(scaling);
        return "#if " + condition + "\n#define CLATTN_TEST_BUG 1.01f\n#else\n#define CLATTN_TEST_BUG 1.0f\n#endif\n"
                + source.replace(scaling, "acc[tr_][tv_] * (scale * CLATTN_TEST_BUG);");
    }

    @TempDir
    Path cache;
    private String savedCacheDir;

    @AfterEach
    void restore() {
        ClContext.overrideSource("flash_cpu.cl", null);
        if (savedCacheDir != null) {
            System.setProperty(CacheDir.PROPERTY, savedCacheDir);
        }
    }

    @Test
    void verifyFailsOnTheBrokenVariantOnly() {
        Device device = TestDevices.openCl();
        ClContext.overrideSource("flash_cpu.cl", brokenFlashCpu("1"));
        List<Verification.Case> seen = new ArrayList<>();
        Verification v = Devices.verify(device, seen::add);
        assertThat(seen).hasSameSizeAs(v.cases());
        assertThat(v.passed()).isFalse();
        assertThat(v.verdict()).startsWith("FAIL");
        assertThat(v.cases()).filteredOn(c -> !c.passed()).isNotEmpty()
                .allSatisfy(c -> assertThat(c.path()).isEqualTo("opencl-fused-cpu"))
                .allSatisfy(c -> assertThat(c.fractionOfTolerance()).isGreaterThan(1));
        assertThat(v.cases()).filteredOn(c -> c.path().equals("opencl-fused-gpu")).isNotEmpty()
                .allSatisfy(c -> assertThat(c.passed()).isTrue());

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute("verify", "--device", device.spec());
        assertThat(exit).as(out + "\n" + err).isEqualTo(1);
        assertThat(out.toString()).contains("FAIL").contains("verify: FAIL");
        assertThat(err.toString()).contains("outside the tolerance");

        ClContext.overrideSource("flash_cpu.cl", null);
        assertThat(Devices.verify(device, null).passed()).as("the real kernels pass").isTrue();
    }

    @Test
    void theTunerDropsACandidateThatComputesWrongResults() {
        savedCacheDir = System.getProperty(CacheDir.PROPERTY);
        System.setProperty(CacheDir.PROPERTY, cache.toString());
        Device device = TestDevices.openCl();
        // Only FLASH_KV == 4 is broken, and that candidate would otherwise be a fine choice.
        ClContext.overrideSource("flash_cpu.cl", brokenFlashCpu("FLASH_KV == 4"));
        List<Map<String, Integer>> gemm = List.of(Map.of("GEMM_RM", 4, "GEMM_CV", 1));
        List<Map<String, Integer>> flash = List.of(Map.of("FLASH_KV", 4, "FLASH_KC", 64), Map.of("FLASH_KV", 1, "FLASH_KC", 32));
        List<String> progress = new ArrayList<>();
        List<Map<String, Integer>> decode = List.of(Map.of("DEC_QR", 4));
        List<Map<String, Integer>> gemv = List.of(Map.of("GEMV_CV", 4));
        Tuner.Result r = Tuner.tune(device, KernelVariant.CPU, new Tuner.Workload(40, 24, 2, 12),
                List.of(gemm, flash, decode, gemv), progress::add);
        assertThat(r.trials()).filteredOn(t -> !t.timed()).singleElement()
                .satisfies(t -> assertThat(t.params().get("FLASH_KV")).isEqualTo(4))
                .satisfies(t -> assertThat(t.dropped()).contains("wrong results"));
        assertThat(r.best().get("FLASH_KV")).isNotEqualTo(4);
        assertThat(Tuner.stored(device)).hasValueSatisfying(p -> assertThat(p.get("FLASH_KV")).isNotEqualTo(4));
        assertThat(progress).anySatisfy(line -> assertThat(line).contains("dropped"));
        // the tuned parameters compute correctly
        ClContext.overrideSource("flash_cpu.cl", null);
        PathUnderTest.FUSED_CPU.runAndCheck(device, Problem.builder(1, 1, 30, 30, 12, 2, 12)
                .with(Feature.CAUSAL).build(), r.best());
    }
}
